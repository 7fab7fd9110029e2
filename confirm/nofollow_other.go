//go:build !unix

package confirm

const noFollow = 0
