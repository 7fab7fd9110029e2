// Package docker is rdd's container engine boundary for moby (dockerd): it
// connects through the engine socket with API version negotiation (Docker
// Engine API 1.41, Debian's docker.io 20.10, up to current releases) and
// reports whether the engine answers.
package docker
