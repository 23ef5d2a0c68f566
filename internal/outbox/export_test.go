package outbox

// The relay's scripts, for tests to recognise their calls in a go-redis
// hook.
var (
	RenewScript  = renewScript
	DeleteScript = deleteScript
)
