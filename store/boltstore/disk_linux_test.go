//go:build linux

package boltstore_test

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDiskSync measures the floor that the disk sets under every
// bbolt write. A commit writes its pages and syncs the file (fdatasync),
// then writes its meta page and syncs again, as bbolt's Tx.Commit does;
// each op here is that pair, with 4-KB writes into a file in the same
// temporary directory as the store's benchmarks. p50-ms and p99-ms are of
// one pair. A caller of the store waits for at least one commit, and for
// two when it arrives while one is being written.
func BenchmarkDiskSync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "sync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	const pages = 256
	if _, err := f.Write(make([]byte, pages*4096)); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	page := make([]byte, 4096)
	sync := func(off int64) {
		if _, err := f.WriteAt(page, off*4096); err != nil {
			b.Fatal(err)
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		sync(int64(2 + i%(pages-2))) // the commit's pages
		sync(int64(i % 2))           // its meta page
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	rank := func(p int) time.Duration { return lat[(len(lat)*p+99)/100-1] } // nearest rank
	b.ReportMetric(float64(rank(50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(rank(99).Microseconds())/1000, "p99-ms")
}
