package pidlock

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestAcquireHeldRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "daemon.lock")
	if held, _, err := Held(path); err != nil || held {
		t.Fatalf("Held before any daemon = %v, %v", held, err)
	}
	l, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	held, pid, err := Held(path)
	if err != nil || !held || pid != os.Getpid() {
		t.Fatalf("Held = %v, %d, %v; want true, %d", held, pid, err, os.Getpid())
	}
	_, err = Acquire(path)
	if !errors.Is(err, ErrHeld) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second Acquire = %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if held, _, err := Held(path); err != nil || held {
		t.Fatalf("Held after release = %v, %v", held, err)
	}
	l2, err := Acquire(path)
	if err != nil {
		t.Fatalf("Acquire after release: %v", err)
	}
	l2.Release()
}

// A CLI probing the lock (rdd wait right after rdd daemon &) must not make
// the starting daemon believe another daemon holds it.
func TestAcquireWhileProbed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "daemon.lock")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var probers sync.WaitGroup
	for range 2 {
		probers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					_, _, _ = Held(path)
				}
			}
		})
	}
	defer probers.Wait()
	defer close(stop)
	for range 300 {
		l, err := Acquire(path)
		if err != nil {
			t.Fatalf("Acquire while probed: %v", err)
		}
		l.Release()
	}
}
