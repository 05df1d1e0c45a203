package bot

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
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
