package history

import (
	"context"
	"testing"
	"time"
)

func TestWriterWritesInOrder(t *testing.T) {
	s := Open(t.TempDir())
	w := NewWriter(s, nil)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for gen := int64(1); gen <= 5; gen++ {
		w.Add(Entry{Generation: gen, Digest: "d", Time: t0}, map[string][]byte{DesiredPath: []byte("running: true\n")})
		w.SetVerdict(gen, "ready", "Settled", "running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	es, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 5 {
		t.Fatalf("%d entries, want 5", len(es))
	}
	for _, e := range es {
		if e.Verdict != "ready" {
			t.Errorf("entry %d: verdict %q, want ready (a verdict queued after its Add lands after it)", e.Generation, e.Verdict)
		}
	}
}
