package backstop

// The BPF side is compiled into exec_bpfel.o and the Go that loads it into
// exec_bpfel.go, both committed: building needs no clang. Regenerate after
// changing bpf/exec.c (needs clang, llvm-strip and libbpf-dev).
//go:generate go tool bpf2go -tags linux -target bpfel -type report -cflags "-O2 -g -Wall -Werror" exec bpf/exec.c -- -I/usr/include/x86_64-linux-gnu -I/usr/include/aarch64-linux-gnu
