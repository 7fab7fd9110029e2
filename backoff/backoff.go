// Package backoff is the one retry schedule of rdd: the loop, the engine's
// connections, lists, inspects, corrections and pulls, and the Lima
// driver's limactl operations all wait by it.
package backoff

import "time"

// Delay is the wait before try number attempt+1 after attempt failures in
// a row: lo after the first, doubling with each further one, never more
// than hi. An attempt below 1 counts as the first.
func Delay(attempt int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < attempt && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}
