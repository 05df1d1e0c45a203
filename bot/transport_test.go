package bot

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
)

// TestWholeBodies: a body of unknown length, as a pipe gives, reaches the
// server with its length set and not chunked, and is unchanged.
func TestWholeBodies(t *testing.T) {
	var gotLen int64
	var gotTE []string
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotLen, gotTE = r.ContentLength, r.TransferEncoding
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
	}))
	defer srv.Close()
	c := withWholeBodies(srv.Client())
	pr, pw := io.Pipe()
	go func() {
		for _, part := range []string{"chat_id=1", "&text=", "Xin chào"} {
			_, _ = pw.Write([]byte(part))
		}
		pw.Close()
	}()
	req, err := http.NewRequest(http.MethodPost, srv.URL, pr)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := "chat_id=1&text=Xin chào"
	if gotBody != want || gotLen != int64(len(want)) || len(gotTE) != 0 {
		t.Errorf("server got %q, length %d, transfer encoding %v; want %q, length %d, not chunked", gotBody, gotLen, gotTE, want, len(want))
	}
}

// TestConnectionsReused checks that answering many officials at once
// reuses connections to the Bot API instead of opening one per message.
func TestConnectionsReused(t *testing.T) {
	w := newBotWorld(t, "Lan")
	officials := make([]telegramtest.User, 40)
	for i := range officials {
		officials[i] = w.srv.AddUser(telegramtest.User{FirstName: fmt.Sprintf("Cán bộ %d", i)})
		w.register(officials[i], caunoi.InviteRequest{Role: caunoi.RoleOfficial, Commune: "00001"})
	}
	before := w.srv.Connections()
	const rounds = 5
	for range rounds {
		for _, o := range officials {
			if _, err := w.srv.SendText(o.ID, o.ID, "thủ tục đăng ký khai sinh cần giấy tờ gì"); err != nil {
				t.Fatal(err)
			}
		}
		w.clock.Advance(humanPace)
		w.idle()
	}
	for _, o := range officials {
		if n := len(w.botMessages(o.ID)); n < rounds+1 {
			t.Fatalf("official %d got %d messages, want at least %d", o.ID, n, rounds+1)
		}
	}
	// The sender's workers, the poller and a few spares; before idle
	// connections were kept, this was about one per message.
	if opened := w.srv.Connections() - before; opened > 24 {
		t.Errorf("%d connections opened for %d questions, want at most 24", opened, rounds*len(officials))
	}
}
