package devserver

import (
	"context"
	"log/slog"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// logger adapts slog to the Temporal server's logger interface. The server
// is chatty — it warns about every connection it loses while stopping — so
// only its errors pass, and its warnings too when the handler is at debug
// level.
type logger struct {
	l *slog.Logger
}

var _ log.Logger = logger{}

func newLogger(l *slog.Logger) logger { return logger{l: l.With("component", "temporal-server")} }

func (g logger) log(level slog.Level, msg string, tags []tag.Tag) {
	floor := slog.LevelError
	if g.l.Enabled(context.Background(), slog.LevelDebug) {
		floor = slog.LevelWarn
	}
	if level < floor || !g.l.Enabled(context.Background(), level) {
		return
	}
	attrs := make([]any, 0, 2*len(tags))
	for _, t := range tags {
		attrs = append(attrs, t.Key(), t.Value())
	}
	g.l.Log(context.Background(), level, msg, attrs...)
}

func (g logger) Debug(msg string, tags ...tag.Tag)  { g.log(slog.LevelDebug, msg, tags) }
func (g logger) Info(msg string, tags ...tag.Tag)   { g.log(slog.LevelInfo, msg, tags) }
func (g logger) Warn(msg string, tags ...tag.Tag)   { g.log(slog.LevelWarn, msg, tags) }
func (g logger) Error(msg string, tags ...tag.Tag)  { g.log(slog.LevelError, msg, tags) }
func (g logger) DPanic(msg string, tags ...tag.Tag) { g.log(slog.LevelError, msg, tags) }
func (g logger) Panic(msg string, tags ...tag.Tag)  { g.log(slog.LevelError, msg, tags); panic(msg) }
func (g logger) Fatal(msg string, tags ...tag.Tag)  { g.log(slog.LevelError, msg, tags); panic(msg) }
