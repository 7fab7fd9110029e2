//go:build linux

package docker

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// bareInspectP50 is the baseline half of the event-to-file target that the
// event stream does not give: the p50, in milliseconds, of 50 inspects of
// the container name with the benchmark's own client, measured in the same
// run. The target's baseline is the event's arrival plus this (DESIGN.md
// section 8: "the bare event+inspect").
func bareInspectP50(b *testing.B, cli *client.Client, name string) float64 {
	b.Helper()
	ctx := context.Background()
	lat := make([]time.Duration, 0, 50)
	for range 50 {
		t0 := time.Now()
		if _, err := cli.ContainerInspect(ctx, name); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return float64(lat[len(lat)/2]) / float64(time.Millisecond)
}
