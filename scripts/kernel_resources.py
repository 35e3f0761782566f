"""Registers, shared memory, stack and spills of every CUDA kernel in a build, from its SASS.

    python scripts/kernel_resources.py                       # table for clustering_metrics/_C.abi3.so
    python scripts/kernel_resources.py --save before.txt     # keep cuobjdump's raw output
    python scripts/kernel_resources.py --compare before.txt  # before/after table per kernel and arch

Kernels are named by function and label types, with the portability layer's
wrappers (RangeCells<P, T>) read as the plain label types of older builds,
so a kernel is compared with itself across the port. Needs cuobjdump (CUDA
toolkit, or triton's copy) and c++filt.
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_cuobjdump():
    candidates = [shutil.which("cuobjdump"), "/usr/local/cuda/bin/cuobjdump"]
    try:
        import triton

        candidates.append(os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "cuobjdump"))
    except ImportError:
        pass
    for candidate in candidates:
        if candidate and os.path.exists(candidate):
            return candidate
    sys.exit("cuobjdump not found: install the CUDA toolkit (or triton) or put cuobjdump on PATH")


def dump(library):
    return subprocess.run([find_cuobjdump(), "--dump-resource-usage", library], check=True, capture_output=True,
                          text=True).stdout


def demangle(names):
    out = subprocess.run(["c++filt"], input="\n".join(names), check=True, capture_output=True, text=True).stdout
    return out.splitlines()


def kernel_key(demangled):
    """'count_shared_kernel_impl<unsigned char, unsigned long>' from a demangled kernel signature."""
    name = demangled.replace("(anonymous namespace)::", "").removeprefix("void ").split("(")[0]
    name = name.replace("clustering_metrics::cuda::", "")
    name = re.sub(r"RangeCells<([^<>]*)>", r"\1", name).replace(" >", ">")
    return name.replace("unsigned long long", "u64").replace("unsigned long", "u64").replace(
        "unsigned int", "u32").replace("unsigned short", "u16").replace("unsigned char", "u8")


def parse(text):
    """{(arch, kernel): {'REG': .., 'SHARED': .., 'STACK': .., 'LOCAL': ..}}"""
    rows, arch, mangled = {}, None, None
    pending = []
    for line in text.splitlines():
        if m := re.match(r"\s*arch = (sm_\d+)", line):
            arch = m.group(1)
        elif m := re.match(r"\s*Function (\S+):", line):
            mangled = m.group(1)
        elif mangled and (m := re.findall(r"(REG|STACK|SHARED|LOCAL):(\d+)", line)):
            pending.append((arch, mangled, {k: int(v) for k, v in m}))
            mangled = None
    names = demangle([p[1] for p in pending])
    for (arch, _, usage), name in zip(pending, names):
        rows[(arch, kernel_key(name))] = usage
    return rows


def allocated(registers):
    # Registers are allocated per warp in units of 256, so 8 a thread: 29
    # and 32 registers take the same room and allow the same occupancy.
    return (registers + 7) // 8 * 8


def format_usage(usage):
    if usage is None:
        return "-"
    return f"{usage['REG']} reg, {usage['SHARED']} B shared, {usage['STACK']} B stack, {usage['LOCAL']} B local"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("library", nargs="?", help="the built extension (default: clustering_metrics/_C*.so)")
    parser.add_argument("--save", help="write cuobjdump's output to this file")
    parser.add_argument("--compare", help="a saved cuobjdump output to compare with")
    args = parser.parse_args()
    library = args.library or next(iter(glob.glob(os.path.join(ROOT, "clustering_metrics", "_C*.so"))), None)
    if library is None:
        sys.exit("no built clustering_metrics/_C*.so; build first or name the library")
    text = dump(library)
    if args.save:
        with open(args.save, "w") as f:
            f.write(text)
    after = parse(text)
    if not args.compare:
        print("| arch | kernel | resources |\n|---|---|---|")
        for (arch, kernel), usage in sorted(after.items()):
            print(f"| {arch} | `{kernel}` | {format_usage(usage)} |")
        return
    with open(args.compare) as f:
        before = parse(f.read())
    worse = 0
    print("| arch | kernel | before | after |\n|---|---|---|---|")
    for key in sorted(set(before) | set(after), key=lambda k: (k[1], k[0])):
        b, a = before.get(key), after.get(key)
        mark = ""
        if a and b and (allocated(a["REG"]) > allocated(b["REG"]) or a["SHARED"] > b["SHARED"] or a["LOCAL"] > b["LOCAL"]
                        or a["STACK"] > b["STACK"]):
            mark, worse = " **more**", worse + 1
        print(f"| {key[0]} | `{key[1]}` | {format_usage(b)} | {format_usage(a)}{mark} |")
    kept = len(set(before) & set(after))
    print(f"\n{kept} kernels in both builds, {worse} of them using more registers (in allocation units of 8), shared "
          f"memory, stack or local memory; {len(set(before) - set(after))} removed, {len(set(after) - set(before))} new.")


if __name__ == "__main__":
    main()
