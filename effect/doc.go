// Package effect is the vocabulary of what a change to the desired state
// costs (DESIGN section 10): every difference between the state in force
// and a new desired state has one Effect, from none to refused, and a Plan
// lists them with the most disruptive one first in mind.
//
// Effects are data. Each driver computes them with one pure function of
// (state in force, observation, new desired state); the daemon acts on
// exactly that result and `rdd plan` prints exactly that result, so there
// is no second table to drift from the first.
package effect
