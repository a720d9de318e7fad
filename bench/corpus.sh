#!/usr/bin/env bash
# corpus.sh -- build the benchmark corpora from what this machine already has.
#
# Usage: bench/corpus.sh [DIR]        (DIR defaults to bench/corpus)
#
# Builds, without any network:
#   DIR/text.tar     a deterministic tar of the text files under the system
#                    directories below (sorted names, owner 0:0, fixed mtime)
#   DIR/text-1g.txt  the contents of those text files, in the same order,
#                    repeated and cut to exactly 1000000000 bytes
#   DIR/tree/        a source tree: the text files of at most 80 KiB, evenly
#                    thinned to at most 15000 files (~140 MB), copied with
#                    their directories (plain files only, fixed mtimes)
#
# "Text" means `grep -I` finds no NUL byte (LC_ALL=C, so the result does not
# depend on the locale).  Names starting with '.' are skipped (a walker that
# skips hidden files must see the same tree as `find`), and so are names
# containing a newline.  The same machine always gives the same bytes.
#
# Idempotent: whatever already exists is kept; each product is built under a
# temporary name and renamed when complete, so an interrupted run leaves
# nothing that looks finished.
set -euo pipefail
export LC_ALL=C

out=${1:-bench/corpus}
tree_max_files=15000
tree_max_size=81920            # bytes per file in tree/ (80 KiB)
big_size=1000000000            # bytes in text-1g.txt
epoch=946684800                # 2000-01-01T00:00:00Z: every mtime
tar_opts=(--format=gnu --owner=0 --group=0 --numeric-owner
          --mtime="@$epoch" --no-recursion --null)

sources=()
for d in /usr/include /usr/share/doc /usr/share/perl* /usr/lib/python3* \
         /usr/share/vim /usr/share/common-licenses; do
    # Real directories only: a symlinked one would duplicate a real one.
    if [ -d "$d" ] && [ ! -L "$d" ]; then
        sources+=("${d#/}")     # relative to /: tar stores relative names
    fi
done

mkdir -p "$out"
out=$(cd "$out" && pwd)         # absolute: the lists are used from inside /
work=
trap 'if [ -n "$work" ]; then rm -rf "$work"; fi' EXIT

# ------------------------------------------------------------ the file list
# Writes $work/text0: the text files, NUL-separated, sorted by byte order.
# Unreadable entries are reported by find/grep and left out: find then exits
# 1, and xargs 123 (as it also does when grep finds no text in one batch),
# which is why those statuses are accepted.
list_text_files() {
    local nl='
'
    if [ "${#sources[@]}" -eq 0 ]; then
        echo "corpus.sh: none of the source directories exists" >&2
        exit 1
    fi
    (cd / || exit 1
     find "${sources[@]}" \( -name '.*' -prune \) -o \
          \( -type f ! -name "*$nl*" -print0 \) || [ $? -eq 1 ]) |
        sort -z > "$work/all0"
    (cd / || exit 1
     xargs -0 grep -IlZ -- '' < "$work/all0" || [ $? -eq 123 ]) > "$work/text0"
    nfiles=$(tr -cd '\0' < "$work/text0" | wc -c)
    if [ "$nfiles" -eq 0 ]; then
        echo "corpus.sh: no text files found" >&2
        exit 1
    fi
}

# ---------------------------------------------------------------- text.tar
build_tar() {
    echo "text.tar: $nfiles text files..."
    tar -C / "${tar_opts[@]}" -T "$work/text0" -cf "$work/text.tar"
    touch -d "@$epoch" "$work/text.tar"
    mv "$work/text.tar" "$out/text.tar"
}

# ------------------------------------------------------------- text-1g.txt
build_big() {
    local once have size
    echo "text-1g.txt: concatenating and repeating to $big_size bytes..."
    (cd / || exit 1; xargs -0 cat -- < "$work/text0") > "$work/once"
    once=$(stat -c %s "$work/once")
    : > "$work/big"
    have=0
    while [ $((have + once)) -le "$big_size" ]; do
        cat "$work/once" >> "$work/big"
        have=$((have + once))
    done
    head -c $((big_size - have)) "$work/once" >> "$work/big"
    rm -f "$work/once"
    size=$(stat -c %s "$work/big")
    if [ "$size" -ne "$big_size" ]; then
        echo "corpus.sh: text-1g.txt has $size bytes, not $big_size" >&2
        exit 1
    fi
    touch -d "@$epoch" "$work/big"
    mv "$work/big" "$out/text-1g.txt"
}

# -------------------------------------------------------------------- tree/
# The text files of at most tree_max_size bytes, in sorted order, then every
# k-th of them so that at most tree_max_files remain, spread evenly over all
# the source directories.  Names hold no newline (see find above), so the
# middle of this works on lines.
build_tree() {
    local nsmall
    (cd / || exit 1
     tr '\0' '\n' < "$work/text0" | xargs -d '\n' stat -c '%s %n' --) |
        awk -v max="$tree_max_size" '$1 <= max { sub(/^[0-9]+ /, ""); print }' \
            > "$work/small"
    nsmall=$(wc -l < "$work/small")
    awk -v n="$nsmall" -v k="$tree_max_files" '
        n <= k { print; next }
        int(NR * k / n) > int((NR - 1) * k / n) { print }' "$work/small" |
        tr '\n' '\0' > "$work/tree0"
    echo "tree/: $(tr -cd '\0' < "$work/tree0" | wc -c) of $nsmall small text files..."
    mkdir "$work/tree"
    tar -C / "${tar_opts[@]}" -T "$work/tree0" -cf - |
        tar -C "$work/tree" --no-same-owner -xf -
    # Directories got the extraction time: fix them too.
    find "$work/tree" -exec touch -h -d "@$epoch" {} +
    mv "$work/tree" "$out/tree"
}

# ------------------------------------------------------------------- main
if [ -e "$out/text.tar" ] && [ -e "$out/text-1g.txt" ] && [ -e "$out/tree" ]; then
    echo "corpus.sh: $out: already built"
else
    work=$(mktemp -d "$out/.work.XXXXXX")
    list_text_files
    for product in text.tar text-1g.txt tree; do
        if [ -e "$out/$product" ]; then
            echo "$product: exists, kept"
            continue
        fi
        case $product in
            text.tar) build_tar ;;
            text-1g.txt) build_big ;;
            tree) build_tree ;;
        esac
    done
fi

tar_files=$(tar -tf "$out/text.tar" | wc -l)
tree_files=$(find "$out/tree" -type f | wc -l)
tree_bytes=$(find "$out/tree" -type f -printf '%s\n' |
             awk '{ s += $1 } END { printf "%d\n", s }')
echo "corpus in $out:"
printf '  %-12s %12s bytes %7s files\n' \
    text.tar "$(stat -c %s "$out/text.tar")" "$tar_files" \
    text-1g.txt "$(stat -c %s "$out/text-1g.txt")" 1 \
    tree/ "$tree_bytes" "$tree_files"
