package statusdir

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

func BenchmarkWriteFileUnchanged(b *testing.B) {
	d := openDir(b)
	data := make([]byte, 2048)
	if _, err := d.WriteFile(ContainersDir+"/web.yaml", data); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		changed, err := d.WriteFile(ContainersDir+"/web.yaml", data)
		if err != nil || changed {
			b.Fatalf("WriteFile = %v, %v", changed, err)
		}
	}
}

func BenchmarkWriteFileChanged(b *testing.B) {
	d := openDir(b)
	data := [2][]byte{make([]byte, 2048), make([]byte, 2048)}
	data[1][0] = 1
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		changed, err := d.WriteFile(ContainersDir+"/web.yaml", data[i%2])
		if err != nil || !changed {
			b.Fatalf("WriteFile = %v, %v", changed, err)
		}
	}
}

// benchMirrors returns the object files of a large engine, 1,400 in all:
// 1,000 containers, 300 volumes and 100 image tags, of realistic sizes.
func benchMirrors() map[string]map[string][]byte {
	m := map[string]map[string][]byte{ContainersDir: {}, VolumesDir: {}, ImagesDir: {}}
	for i := range 1000 {
		m[ContainersDir][fmt.Sprintf("app-%04d", i)] = fmt.Appendf(nil, `id: %064x
name: app-%04d
image: ghcr.io/example/app:1.%d
imageID: sha256:%064x
state: running
exitCode: 0
ports:
  - name: 8080/tcp
    bindings:
      - hostIP: 127.0.0.1
        hostPort: "%d"
labels:
  com.docker.compose.project: demo
  com.docker.compose.service: app-%04d
  org.opencontainers.image.source: https://example.com/app
created: 2025-01-02T03:04:05Z
started: 2025-01-02T03:04:06Z
`, i, i, i%7, i%13, 20000+i, i)
	}
	for i := range 300 {
		m[VolumesDir][fmt.Sprintf("vol-%03d", i)] = fmt.Appendf(nil, `name: vol-%03d
driver: local
scope: local
mountpoint: /var/lib/docker/volumes/vol-%03d/_data
labels:
  com.docker.compose.project: demo
created: 2025-01-02T03:04:05Z
`, i, i)
	}
	for i := range 100 {
		m[ImagesDir][EncodeName(fmt.Sprintf("ghcr.io/example/app:1.%d", i))] = fmt.Appendf(nil, `id: sha256:%064x
tag: ghcr.io/example/app:1.%d
repoDigests:
  - ghcr.io/example/app@sha256:%064x
size: %d
created: 2025-01-02T03:04:05Z
`, i, i, i, 50_000_000+i)
	}
	return m
}

// syncAll syncs every directory of m, as a reconcile pass does, and returns
// the files changed.
func syncAll(b *testing.B, d *Dir, m map[string]map[string][]byte) int {
	n := 0
	for _, sub := range []string{ContainersDir, ImagesDir, VolumesDir} {
		c, err := d.syncObjects(sub, m[sub])
		if err != nil {
			b.Fatal(err)
		}
		n += c
	}
	return n
}

// BenchmarkSyncDir measures a pass over the 1,400 object files of
// benchMirrors: with none of them changed (a no-op resync), with one
// container changed (the event -> status file latency), and with all of
// them new (a daemon's first pass). The baseline remembers nothing and
// compares bytes, as the writer did before it had a cache; cached is the
// steady state, where the files last changed more than racyWindow ago (the
// clock runs an hour ahead). reads/op and lists/op count the files read
// back and the directories listed; cache-B is the heap that the cache of
// 1,400 files holds.
func BenchmarkSyncDir(b *testing.B) {
	mirrors := benchMirrors()
	variants := []struct {
		name    string
		noCache bool
	}{{"baseline", true}, {"cached", false}}
	open := func(b *testing.B, noCache bool) *Dir {
		d := openDir(b)
		d.noCache = noCache
		d.now = func() time.Time { return time.Now().Add(time.Hour) }
		return d
	}
	report := func(b *testing.B, d *Dir) {
		reads, lists := counts(d)
		b.ReportMetric(float64(reads)/float64(b.N), "reads/op")
		b.ReportMetric(float64(lists)/float64(b.N), "lists/op")
	}
	for _, v := range variants {
		b.Run("unchanged/"+v.name, func(b *testing.B) {
			d := open(b, v.noCache)
			syncAll(b, d, mirrors) // write
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			syncAll(b, d, mirrors) // verify and remember
			runtime.GC()
			runtime.ReadMemStats(&after)
			counts(d)
			for b.Loop() {
				if n := syncAll(b, d, mirrors); n != 0 {
					b.Fatalf("a no-op pass changed %d files", n)
				}
			}
			report(b, d)
			b.ReportMetric(float64(after.HeapAlloc)-float64(before.HeapAlloc), "cache-B")
		})
	}
	for _, v := range variants {
		b.Run("one-changed/"+v.name, func(b *testing.B) {
			d := open(b, v.noCache)
			syncAll(b, d, mirrors)
			syncAll(b, d, mirrors)
			counts(d)
			web := mirrors[ContainersDir]["app-0000"]
			defer func() { mirrors[ContainersDir]["app-0000"] = web }()
			i := 0
			for b.Loop() {
				i++
				mirrors[ContainersDir]["app-0000"] = fmt.Appendf(nil, "%sgeneration: %d\n", web, i)
				if n := syncAll(b, d, mirrors); n != 1 {
					b.Fatalf("pass changed %d files, want 1", n)
				}
			}
			report(b, d)
		})
	}
	b.Run("all-new", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			d := openDir(b)
			b.StartTimer()
			if n := syncAll(b, d, mirrors); n != 1400 {
				b.Fatalf("syncObjects = %d", n)
			}
		}
	})
}
