package main

import "syscall"

// childAttr: the machines' process dies with the console node's, however
// that ends.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
