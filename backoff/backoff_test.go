package backoff

import (
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	const s = time.Second
	for _, tc := range []struct {
		attempt int
		lo, hi  time.Duration
		want    time.Duration
	}{
		{0, s, 30 * s, s},
		{1, s, 30 * s, s},
		{2, s, 30 * s, 2 * s},
		{3, s, 30 * s, 4 * s},
		{5, s, 30 * s, 16 * s},
		{6, s, 30 * s, 30 * s},    // capped, not 32s
		{1000, s, 30 * s, 30 * s}, // no overflow however many
		{1, 250 * time.Millisecond, 30 * s, 250 * time.Millisecond},
		{3, 250 * time.Millisecond, 30 * s, time.Second},
		{1, 2 * s, s, s}, // lo above hi: hi
	} {
		if got := Delay(tc.attempt, tc.lo, tc.hi); got != tc.want {
			t.Errorf("Delay(%d, %v, %v) = %v, want %v", tc.attempt, tc.lo, tc.hi, got, tc.want)
		}
	}
}
