package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/rddproject/rdd/backoff"
)

// pullLogEvery bounds how often a pull logs its progress.
const pullLogEvery = time.Second

// pulls runs the pulls of images declared present, one goroutine per
// reference, outside the loop: a pull can take minutes, and the loop goes
// on meanwhile (the image is Pulling). A pull that ends calls ended, which
// marks the images dirty and wakes the loop; one that failed is tried
// again after a backoff. Pulls belong to a connection and end with it.
type pulls struct {
	log      *slog.Logger
	ended    func()
	now      func() time.Time
	minRetry time.Duration
	maxRetry time.Duration
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	mu       sync.Mutex // guards state; never held across a call
	state    map[string]*pullState
}

type pullState struct {
	running  bool
	attempts int       // failed pulls in a row
	err      error     // why the last pull failed
	at       time.Time // no new pull before this, after a failure
}

func newPulls(log *slog.Logger, ended func(), now func() time.Time, p policy) *pulls {
	ctx, cancel := context.WithCancel(context.Background())
	return &pulls{log: log, ended: ended, now: now, minRetry: p.minRetry, maxRetry: p.maxRetry,
		ctx: ctx, cancel: cancel, state: map[string]*pullState{}}
}

// status reports whether a pull of ref runs, and the time before which
// none is started again with the error of the last one, which failed.
func (p *pulls) status(ref string) (running bool, at time.Time, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.state[ref]
	if s == nil {
		return false, time.Time{}, nil
	}
	return s.running, s.at, s.err
}

// start starts a pull of ref unless one runs.
func (p *pulls) start(cli *client.Client, ref string) {
	p.mu.Lock()
	s := p.state[ref]
	if s == nil {
		s = &pullState{}
		p.state[ref] = s
	}
	if s.running {
		p.mu.Unlock()
		return
	}
	s.running = true
	p.mu.Unlock()
	p.wg.Go(func() {
		t0 := time.Now()
		p.log.Info("pulling image", "ref", ref)
		err := p.pull(cli, ref)
		p.mu.Lock()
		s.running = false
		if err != nil {
			s.attempts++
			s.err = err
			s.at = p.now().Add(backoff.Delay(s.attempts, p.minRetry, p.maxRetry))
		} else {
			s.attempts, s.err, s.at = 0, nil, time.Time{}
		}
		p.mu.Unlock()
		if err != nil {
			if p.ctx.Err() == nil {
				p.log.Warn("pull failed", "ref", ref, "err", err)
			}
		} else {
			p.log.Info("pulled image", "ref", ref, "took", time.Since(t0).Round(time.Millisecond))
		}
		p.ended()
	})
}

// forget drops what is known of the pulls whose reference keep rejects and
// that do not run: images no longer declared present, or present now.
func (p *pulls) forget(keep func(ref string) bool) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for ref, s := range p.state {
		if !s.running && !keep(ref) {
			delete(p.state, ref)
		}
	}
}

// stop ends every pull and waits for them. The caller holds no lock.
func (p *pulls) stop() {
	if p == nil {
		return
	}
	p.cancel()
	p.wg.Wait()
}

// pullMessage is one line of dockerd's pull progress stream.
type pullMessage struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	ProgressDetail struct {
		Current int64 `json:"current"`
		Total   int64 `json:"total"`
	} `json:"progressDetail"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// pull pulls ref, logging its progress at most every pullLogEvery: the
// layers done of those seen, and the bytes downloaded of those known.
func (p *pulls) pull(cli *client.Client, ref string) error {
	rc, err := cli.ImagePull(p.ctx, ref, image.PullOptions{})
	if err != nil {
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	defer rc.Close()
	type layer struct {
		status         string
		current, total int64
	}
	layers := map[string]*layer{}
	var last time.Time
	var final string
	dec := json.NewDecoder(rc)
	for {
		var msg pullMessage
		err := dec.Decode(&msg)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("pull %s: read progress: %w", ref, err)
		}
		if msg.Error != "" {
			return fmt.Errorf("pull %s: %s", ref, msg.Error)
		}
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			return fmt.Errorf("pull %s: %s", ref, msg.ErrorDetail.Message)
		}
		if msg.ID == "" || msg.ID == tagOf(ref) {
			final = msg.Status
			continue
		}
		l := layers[msg.ID]
		if l == nil {
			l = &layer{}
			layers[msg.ID] = l
		}
		l.status = msg.Status
		if msg.ProgressDetail.Total > 0 {
			l.current, l.total = msg.ProgressDetail.Current, msg.ProgressDetail.Total
		}
		if time.Since(last) >= pullLogEvery {
			last = time.Now()
			done, downloaded, size := 0, int64(0), int64(0)
			for _, id := range slices.Sorted(maps.Keys(layers)) {
				l := layers[id]
				if l.status == "Pull complete" || l.status == "Already exists" {
					done++
				}
				downloaded, size = downloaded+l.current, size+l.total
			}
			p.log.Info("pull progress", "ref", ref, "layers", fmt.Sprintf("%d/%d", done, len(layers)),
				"bytes", fmt.Sprintf("%d/%d", downloaded, size), "status", msg.Status)
		}
	}
	if final != "" {
		p.log.Info("pull progress", "ref", ref, "layers", fmt.Sprintf("%d/%d", len(layers), len(layers)), "status", final)
	}
	return nil
}

// tagOf is what dockerd puts in the id field of a pull's own messages: the
// tag (or digest) of the reference.
func tagOf(ref string) string {
	for i := len(ref) - 1; i >= 0; i-- {
		switch ref[i] {
		case ':', '@':
			return ref[i+1:]
		case '/':
			return ""
		}
	}
	return ""
}
