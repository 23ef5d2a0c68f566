package outbox

// CrashAfterConfirm makes the relay end a session between a batch's confirm
// and its delete whenever f returns true.
func (r *Relay) CrashAfterConfirm(f func() bool) { r.crashAfterConfirm = f }
