// Package dockerctx keeps a docker CLI context pointing at rdd's engine, so
// that `docker --context rdd ...` (or DOCKER_CONTEXT=rdd) reaches it without
// the user working out DOCKER_HOST.
//
// The context is written in the docker CLI's own on-disk format: the file
// contexts/meta/<sha256 hex of the name>/meta.json under the docker CLI's
// configuration directory ($DOCKER_CONFIG, default ~/.docker), holding
// {"Name", "Metadata", "Endpoints": {"docker": {"Host", "SkipTLSVerify"}}}.
// Only that one file is ever written: config.json (and its currentContext)
// and every other context are the user's and are never touched.
package dockerctx
