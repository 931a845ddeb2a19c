/*
 * A program that faults on its first instruction (no C library, no loader):
 * nothing of it runs before its crash, so a guardian that seized it only
 * after its exec would lose the race to its SIGSEGV.
 */
	.text
	.globl	_start
	.type	_start, @function
_start:
	.cfi_startproc
	.cfi_undefined rip
	movl	$0, 0
	.cfi_endproc
	.size	_start, .-_start
	.section .note.GNU-stack, "", @progbits
