//go:build linux

package boltstore_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDiskSync measures the floor that the disk sets under every
// bbolt write. A commit writes its dirty pages and syncs the file
// (fdatasync), then writes its meta page and syncs again, as bbolt's
// Tx.Commit does. Each op here is such a commit of 1, 10, 20 or 38 pages
// (38 is what a group commit of 16 ticket creates writes), as 4-KB writes
// at random places in a 16-MB file in the same temporary directory as the
// store's benchmarks. p50-ms and p99-ms are of one commit. A caller of the
// store waits for at least one commit, and for two when it arrives while
// one is being written.
func BenchmarkDiskSync(b *testing.B) {
	for _, pages := range []int{1, 10, 20, 38} {
		b.Run(fmt.Sprintf("pages-%d", pages), func(b *testing.B) { benchSync(b, pages) })
	}
}

func benchSync(b *testing.B, pages int) {
	f, err := os.Create(filepath.Join(b.TempDir(), "sync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	const filePages = 4096
	if _, err := f.Write(make([]byte, filePages*4096)); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	page := make([]byte, 4096)
	write := func(at int64) {
		if _, err := f.WriteAt(page, at*4096); err != nil {
			b.Fatal(err)
		}
	}
	sync := func() {
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, b.N)
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		for range pages {
			write(2 + rng.Int64N(filePages-2))
		}
		sync()
		write(int64(i % 2)) // the meta page
		sync()
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	rank := func(p int) time.Duration { return lat[(len(lat)*p+99)/100-1] } // nearest rank
	b.ReportMetric(float64(rank(50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(rank(99).Microseconds())/1000, "p99-ms")
}
