//go:build !slim

package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// chromiumPath is Debian's headless-capable Chromium; .ci/run installs it.
const chromiumPath = "/usr/bin/chromium"

// browser is a headless Chromium driven over the DevTools protocol on a
// pipe (--remote-debugging-pipe: NUL-terminated JSON on fds 3 and 4), so a
// test reads what a person sees, including what the Web UI renders inside
// iframes (its markdown summaries), which --dump-dom leaves out.
type browser struct {
	t    *testing.T
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	mu   sync.Mutex
	next int
}

// startBrowser starts Chromium; it fails the test, never skips it, when
// Chromium is missing.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	_, err := os.Stat(chromiumPath)
	require.NoError(t, err, "headless Chromium is needed: apt-get install -y chromium")
	// Not t.TempDir: Chromium's helpers may still write there as it exits.
	profile, err := os.MkdirTemp("", "ordersaga-chromium-")
	require.NoError(t, err)
	toChrome, fromTest, err := os.Pipe()
	require.NoError(t, err)
	toTest, fromChrome, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command(chromiumPath, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+profile, "--window-size=1400,1000", "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, fromChrome} // fds 3 and 4
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	toChrome.Close()
	fromChrome.Close()
	b := &browser{t: t, cmd: cmd, in: fromTest, out: bufio.NewReader(toTest)}
	t.Cleanup(func() {
		fromTest.Close() // Chromium exits when its pipe closes
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // and its helpers
		<-done
		toTest.Close()
		_ = os.RemoveAll(profile)
	})
	return b
}

// call sends a DevTools command (to the page of session, or to the browser
// when session is "") and returns its result, skipping the events that
// arrive meanwhile.
func (b *browser) call(session, method string, params any) json.RawMessage {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	msg := map[string]any{"id": b.next, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	raw, err := json.Marshal(msg)
	require.NoError(b.t, err)
	_, err = b.in.Write(append(raw, 0))
	require.NoError(b.t, err)
	for {
		line, err := b.out.ReadBytes(0)
		require.NoError(b.t, err, "chromium closed the pipe")
		var resp struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		require.NoError(b.t, json.Unmarshal(line[:len(line)-1], &resp))
		if resp.ID != b.next {
			continue // an event
		}
		require.Nil(b.t, resp.Error, "%s: %+v", method, resp.Error)
		return resp.Result
	}
}

// open opens url in a new page and returns the page's session.
func (b *browser) open(url string) string {
	b.t.Helper()
	var target struct{ TargetID string }
	require.NoError(b.t, json.Unmarshal(b.call("", "Target.createTarget", map[string]any{"url": url}), &target))
	var session struct{ SessionID string }
	require.NoError(b.t, json.Unmarshal(b.call("", "Target.attachToTarget",
		map[string]any{"targetId": target.TargetID, "flatten": true}), &session))
	return session.SessionID
}

// pageText is the text a person sees on the page: the document's and that
// of every iframe in it.
const pageText = `(() => {
  const texts = [document.body ? document.body.innerText : ""];
  for (const f of document.querySelectorAll("iframe")) {
    try { texts.push(f.contentDocument.body.innerText); } catch (e) {}
  }
  return texts.join("\n");
})()`

// text returns the page's text once it contains every one of want, or
// fails the test after timeout with the text it had.
func (b *browser) text(session string, timeout time.Duration, want ...string) string {
	b.t.Helper()
	var text string
	for deadline := time.Now().Add(timeout); ; {
		var res struct {
			Result struct{ Value string }
		}
		require.NoError(b.t, json.Unmarshal(b.call(session, "Runtime.evaluate",
			map[string]any{"expression": pageText, "returnByValue": true}), &res))
		text = res.Result.Value
		missing := ""
		for _, w := range want {
			if !strings.Contains(text, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return text
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("the page never showed %q; it showed:\n%s", missing, text)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
