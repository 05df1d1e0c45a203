package bot

import (
	"context"
	"sync"
)

// pool runs functions on a fixed set of long-lived goroutines, at most one
// each at a time. Handling an update and sending a message go deep
// (search, JSON, HTTP); a goroutine started for each grew its stack from
// the smallest size every time, about a twentieth of serve's CPU under
// load. Workers keep the stack they grew.
type pool struct {
	jobs chan func()
	wg   sync.WaitGroup
}

func newPool(n int) *pool {
	p := &pool{jobs: make(chan func())}
	p.wg.Add(n)
	for range n {
		go func() {
			defer p.wg.Done()
			for f := range p.jobs {
				f()
			}
		}()
	}
	return p
}

// do waits until a worker is free and hands it f; it reports false, and f
// does not run, when ctx ends first.
func (p *pool) do(ctx context.Context, f func()) bool {
	select {
	case p.jobs <- f:
		return true
	case <-ctx.Done():
		return false
	}
}

// close waits for the functions handed over to finish and stops the
// workers. Nothing may be handed over after.
func (p *pool) close() {
	close(p.jobs)
	p.wg.Wait()
}
