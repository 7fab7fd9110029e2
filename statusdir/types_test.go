package statusdir

import (
	"slices"
	"testing"
	"time"
)

func TestSetCondition(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour + 500*time.Millisecond)
	local := time.FixedZone("X", 3600)
	base := []Condition{
		{Type: "Valid", Status: True, Reason: "Valid", LastTransitionTime: t0},
		{Type: "Running", Status: False, Reason: "Starting", LastTransitionTime: t0},
	}
	tests := []struct {
		name     string
		in       []Condition
		c        Condition
		want     []string   // types in order
		wantTime time.Time  // of c's type afterwards
		wantCond *Condition // when set, the whole condition of c's type
	}{
		{
			name: "add to empty", c: Condition{Type: "Settled", Status: True},
			want: []string{"Settled"}, wantTime: t1.Truncate(time.Second),
		},
		{
			name: "same status keeps the time", in: base,
			c:    Condition{Type: "Valid", Status: True, Reason: "Valid", Message: "new", ObservedGeneration: 3},
			want: []string{"Running", "Valid"}, wantTime: t0,
			wantCond: &Condition{Type: "Valid", Status: True, Reason: "Valid", Message: "new", ObservedGeneration: 3, LastTransitionTime: t0},
		},
		{
			name: "new status takes now", in: base,
			c:    Condition{Type: "Running", Status: True, Reason: "Running"},
			want: []string{"Running", "Valid"}, wantTime: t1.Truncate(time.Second),
		},
		{
			name: "explicit time is kept, in UTC", in: base,
			c:    Condition{Type: "Running", Status: True, LastTransitionTime: time.Date(2024, 5, 5, 5, 5, 5, 5, local)},
			want: []string{"Running", "Valid"}, wantTime: time.Date(2024, 5, 5, 4, 5, 5, 0, time.UTC),
		},
		{
			name: "sorted by type", in: base, c: Condition{Type: "ContainerEngineReady", Status: Unknown},
			want: []string{"ContainerEngineReady", "Running", "Valid"}, wantTime: t1.Truncate(time.Second),
		},
		{
			name: "duplicates collapse",
			in:   []Condition{{Type: "A", Status: True, LastTransitionTime: t0}, {Type: "A", Status: False}},
			c:    Condition{Type: "A", Status: True},
			want: []string{"A"}, wantTime: t0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := slices.Clone(tt.in)
			got := SetCondition(tt.in, tt.c, t1)
			if !slices.Equal(tt.in, orig) {
				t.Fatal("SetCondition modified its input")
			}
			var types []string
			for _, c := range got {
				types = append(types, c.Type)
			}
			if !slices.Equal(types, tt.want) {
				t.Fatalf("types = %q, want %q", types, tt.want)
			}
			c, ok := FindCondition(got, tt.c.Type)
			if !ok {
				t.Fatalf("FindCondition(%q) found nothing", tt.c.Type)
			}
			if !c.LastTransitionTime.Equal(tt.wantTime) || c.LastTransitionTime.Location() != time.UTC {
				t.Fatalf("LastTransitionTime = %v, want %v in UTC", c.LastTransitionTime, tt.wantTime)
			}
			if tt.wantCond != nil && c != *tt.wantCond {
				t.Fatalf("condition = %+v, want %+v", c, *tt.wantCond)
			}
		})
	}
	if _, ok := FindCondition(base, "Settled"); ok {
		t.Fatal("FindCondition found a missing type")
	}
}
