#!/usr/bin/env bash
# Manual check, not run by the build: boots Debian's cloud kernel with the built initramfs in QEMU's
# microvm machine under TCG (pure emulation: slow, but it reaches user space on hosts where KVM is PVM)
# and prints the console. virtio-mmio devices come from QEMU's ACPI DSDT (LNRO0005), as they will
# from hostd's. The identity page is loaded at 0x5000, by default also reserved with memmap= (it is read
# either way: /dev/mem may map RAM below 1 MiB); there is no vsock device (no vhost-vsock here), so the agent ends at
# "connect to the host: No such device (retrying)".
#   guest/src/test/linux/qemu-boot.sh [seconds, default 240] [extra kernel args, default memmap=4K$0x5000;
#                                      "" to leave the page in e820 RAM]
# Needs qemu-system-x86 (Debian; not a project dependency).
set -euo pipefail
secs="${1:-240}"
extra="${2-memmap=4K\$0x5000}"
here=$(cd "$(dirname "$0")" && pwd)
initramfs="$here/../../../target/linux-guest/initramfs.cpio"
vmlinuz=$("$here/../../../../scripts/fetch-guest-kernel")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Identity generation 1: 02:00:00:00:00:42, 198.18.0.2/24 via 198.18.0.1, hostname qemu-sb.
{
  printf 'HIDT\x01\x00\x10\x01\x01\x00\x00\x00\x00\x00\x00\x00'
  printf '\x02\x00\x00\x00\x00\x42\x00\x00\xc6\x12\x00\x02\x18\x00\x00\x00\xc6\x12\x00\x01\x00\x00\x00\x00'
  printf 'qemu-sb'; head -c $((64 - 7)) /dev/zero
  printf 'sb-q'; head -c $((64 - 4)) /dev/zero
  printf 't-q'; head -c $((64 - 3)) /dev/zero
  head -c 32 /dev/urandom
  printf '\x00\x00\x00\x00\x00\x00\x00\x00'
} > "$work/page.bin"
[ "$(stat -c %s "$work/page.bin")" = 272 ] || { echo "identity page is not 0x110 bytes" >&2; exit 1; }
timeout "$secs" qemu-system-x86_64 -M microvm,acpi=on,pit=on,pic=on,rtc=on -accel tcg -cpu max -m 256M -smp 1 \
  -kernel "$vmlinuz" -initrd "$initramfs" \
  -append "console=ttyS0 hostd.identity=0x5000 panic=-1 tsc_early_khz=2000000 lpj=4000000 $extra" \
  -nographic -no-reboot -device virtio-net-device,netdev=n0 -netdev user,id=n0 \
  -device loader,file="$work/page.bin",addr=0x5000,force-raw=on || true
