module rdd-e2e-hello

go 1.22
