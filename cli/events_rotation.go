package cli

import (
	"os"
	"strconv"
)

// eventRotation is the size at which the daemon rotates events.jsonl:
// statusdir's default, unless RDD_EVENTS_ROTATE_BYTES, which only tests
// set (to force a rotation with a few events), says otherwise.
func eventRotation() int64 {
	n, err := strconv.ParseInt(os.Getenv("RDD_EVENTS_ROTATE_BYTES"), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}
