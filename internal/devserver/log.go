package devserver

import (
	"context"
	"errors"
	"fmt"
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
func (g logger) Panic(msg string, tags ...tag.Tag) {
	g.log(slog.LevelError, msg, tags)
	panic(newFatal(msg, tags))
}

func (g logger) Fatal(msg string, tags ...tag.Tag) {
	g.log(slog.LevelError, msg, tags)
	panic(newFatal(msg, tags))
}

// fatalError is what the server's Fatal and Panic calls panic with: its
// message and the error it tagged, so that start can return them as an
// error (a port taken between its pick and its bind is retried).
type fatalError struct {
	msg string
	err error
}

func newFatal(msg string, tags []tag.Tag) fatalError {
	f := fatalError{msg: msg}
	for _, t := range tags {
		if t.Key() == "error" && t.Value() != nil {
			f.err = errors.New(fmt.Sprint(t.Value())) // the tag keeps the error's text
		}
	}
	return f
}

func (f fatalError) Error() string {
	if f.err == nil {
		return f.msg
	}
	return f.msg + ": " + f.err.Error()
}

func (f fatalError) Unwrap() error { return f.err }

// recoverFatal runs fn and returns the fatalError it panics with as an
// error; any other panic goes on.
func recoverFatal(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			f, ok := v.(fatalError)
			if !ok {
				panic(v)
			}
			err = f
		}
	}()
	return fn()
}
