package bot

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// maxRequestBytes bounds one Bot API request body. The bot sends text and
// file references, never uploads; Telegram's own limit for an upload is 50
// MB.
const maxRequestBytes = 50 << 20

// wholeBodies sends each request body in one piece. The Telegram client
// library streams its multipart bodies through a pipe, so net/http sends
// them chunked and flushes every chunk: a dozen small writes, each a system
// call, for one message. Read whole, the body has a length and goes out in
// one write.
type wholeBodies struct{ next http.RoundTripper }

func (t wholeBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength > 0 {
		return t.next.RoundTrip(r)
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	r.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if len(data) > maxRequestBytes {
		return nil, fmt.Errorf("request body over %d bytes", maxRequestBytes)
	}
	r2 := r.Clone(r.Context())
	r2.ContentLength = int64(len(data))
	r2.Body = io.NopCloser(bytes.NewReader(data))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	r2.TransferEncoding = nil
	return t.next.RoundTrip(r2)
}

// apiTransport is http.DefaultTransport keeping enough idle connections to
// the Bot API for the sender's workers, the poller and the answers to
// button taps. With the default of two, every request beyond two at once
// opened a connection of its own and closed it after: a TCP and TLS
// handshake with api.telegram.org per message under load.
func apiTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 128
	t.MaxIdleConnsPerHost = 64
	return t
}

// withWholeBodies returns a copy of c whose requests send their bodies in
// one piece.
func withWholeBodies(c *http.Client) *http.Client {
	cc := *c
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cc.Transport = wholeBodies{next: next}
	return &cc
}
