/* Entry point. The loader enters here at CPL3 with RDI = boot-info page and RSP = 0. */
#include "abi.h"

    .section .text.start, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    lea     stack_top(%rip), %rsp   /* 16-byte aligned, so main sees the ABI alignment */
    xor     %ebp, %ebp
    call    main                    /* main(const struct boot_info *) in RDI; never returns */
1:  mov     $PORT_PANIC, %dx
    mov     $PANIC_MAIN_RETURNED, %eax
    outl    %eax, %dx
    jmp     1b
    .size _start, . - _start

    .section .bss.stack, "aw", @nobits
    .balign 4096
stack:
    .skip   65536
stack_top:

    .section .note.GNU-stack, "", @progbits
