package statusdir

import (
	"fmt"
	"testing"
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

// BenchmarkSyncDir measures a full sync of 1,000 object files: the first
// pass of a daemon (all new) and a no-op resync (all unchanged).
func BenchmarkSyncDir(b *testing.B) {
	objs := make(map[string][]byte, 1000)
	for i := range 1000 {
		objs[fmt.Sprintf("container-%04d", i)] = fmt.Appendf(nil, "name: container-%04d\nstate: running\n", i)
	}
	b.Run("unchanged", func(b *testing.B) {
		d := openDir(b)
		if _, err := d.SyncDir(ContainersDir, objs); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if n, err := d.SyncDir(ContainersDir, objs); err != nil || n != 0 {
				b.Fatalf("SyncDir = %d, %v", n, err)
			}
		}
	})
	b.Run("all new", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			d := openDir(b)
			b.StartTimer()
			if n, err := d.SyncDir(ContainersDir, objs); err != nil || n != len(objs) {
				b.Fatalf("SyncDir = %d, %v", n, err)
			}
		}
	})
}
