#!/usr/bin/env bash
# Builds the Molecule lab platform images offline: debootstrap + `docker import`, no registry.
#
#   tests/lab/images/build.sh [PLATFORM ...]     (default: every *.recipe beside this script)
#   tests/lab/images/build.sh --built            exit 0 when every image is built and current
#
# Each image is tagged netops-dfw-lab:PLATFORM-HASH, HASH being a digest of this script and the
# platform's recipe, and netops-dfw-lab:PLATFORM points at the newest build. An image whose
# recipe has not changed is not rebuilt. Every engine comes from Debian's packages: nothing here
# builds Docker. Environment: LAB_MIRROR (Debian mirror URL), LAB_WORKDIR (scratch space for the
# root file systems, default /var/tmp).
#
# Docker 29 has no Debian package yet: its rows run on the replay platforms (molecule/replay29),
# which load Docker 29's captured rulesets on the trixie image. Each run says whether Debian's
# archive offers docker.io 29 now; the day it does, a recipe like trixie-docker28.recipe with
# that package (SID_PACKAGES="docker.io docker-cli nftables", or the suite that has it) adds a
# platform running the real engine, and the replay stays as the fast datapath check.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mirror=${LAB_MIRROR:-http://deb.debian.org/debian}
workdir=${LAB_WORKDIR:-/var/tmp}
repo=netops-dfw-lab

# Everything a lab host needs besides the Docker engine: systemd as PID 1, the iptables tools
# (nft by default, legacy available), conntrack and ipset for inspection, busybox-static for
# the nested containers and the probes, nftables for the collection's table (the backstop beside
# DOCKER-USER, and the policy under Docker 29's nftables backend).
base_packages=python3,iptables,iproute2,systemd,systemd-sysv,procps,conntrack,ipset,busybox-static,kmod,nftables
# Installed on every platform after the engine, and left disabled: a scenario that needs firewalld
# (and its dbus) enables it. Platforms have no network, so it has to be in the image.
firewall_packages="dbus firewalld"

die() { echo "build.sh: $*" >&2; exit 1; }

recipe_hash() {
    cat "$here/build.sh" "$here/$1.recipe" | sha256sum | cut -c1-12
}

in_root() {
    local root=$1; shift
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"
}

install_engine() {
    local root=$1
    # No service may start inside the chroot.
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 0755 "$root/usr/sbin/policy-rc.d"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    mount -t proc proc "$root/proc"
    in_root "$root" apt-get -q update
    if [ -n "$EXTRA_PACKAGES" ]; then
        # shellcheck disable=SC2086
        in_root "$root" apt-get -q install -y --no-install-recommends $EXTRA_PACKAGES
    fi
    if [ -n "$SID_PACKAGES" ]; then
        echo "deb $mirror sid main" >"$root/etc/apt/sources.list.d/sid.list"
        printf 'Package: *\nPin: release n=sid\nPin-Priority: 100\n' >"$root/etc/apt/preferences.d/sid"
        # The mirror's sid Release file is past its Valid-Until date.
        in_root "$root" apt-get -q -o Acquire::Check-Valid-Until=false update
        # shellcheck disable=SC2086
        in_root "$root" apt-get -q -o Acquire::Check-Valid-Until=false install -y --no-install-recommends -t sid $SID_PACKAGES
        rm -f "$root/etc/apt/sources.list.d/sid.list" "$root/etc/apt/preferences.d/sid"
    fi
    # shellcheck disable=SC2086
    in_root "$root" apt-get -q install -y --no-install-recommends $firewall_packages
    in_root "$root" systemctl disable firewalld.service
    in_root "$root" apt-get clean
    umount "$root/proc"
    rm -rf "$root"/var/lib/apt/lists/* "$root/usr/sbin/policy-rc.d"
    : >"$root/etc/resolv.conf"
}

configure_root() {
    local root=$1
    # Units that cannot work in a container: masking them keeps `systemctl is-system-running` honest.
    for unit in systemd-modules-load.service systemd-remount-fs.service getty@tty1.service \
                console-getty.service systemd-firstboot.service; do
        ln -sf /dev/null "$root/etc/systemd/system/$unit"
    done
    : >"$root/etc/machine-id"
    # Docker mounts /proc/sys read-only in an unprivileged container, and the Docker API has no
    # equivalent of `--security-opt systempaths=unconfined`. A lab host must be able to switch
    # forwarding on like a real one, so make the per-namespace net.* tree writable at boot
    # (kernel.* stays read-only: it belongs to the machine) and skip systemd-sysctl.
    cat >"$root/etc/systemd/system/lab-netsysctl-rw.service" <<'UNIT'
[Unit]
Description=Make /proc/sys/net writable (lab platform)
DefaultDependencies=no
Before=containerd.service docker.service sysinit.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/mount --bind /proc/sys/net /proc/sys/net
ExecStart=/bin/mount -o remount,rw,bind /proc/sys/net

[Install]
WantedBy=sysinit.target
UNIT
    ln -sf /etc/systemd/system/lab-netsysctl-rw.service "$root/etc/systemd/system/sysinit.target.wants/lab-netsysctl-rw.service"
    ln -sf /dev/null "$root/etc/systemd/system/systemd-sysctl.service"
    # The nested containers' image: a busybox root file system, imported inside the platform.
    local bb="$root/tmp/busybox-rootfs"
    mkdir -p "$bb/bin" "$bb/www" "$root/usr/local/share/netops-lab"
    cp "$root/bin/busybox" "$bb/bin/busybox"
    in_root "$root" /bin/busybox --install -s /tmp/busybox-rootfs/bin
    echo "netops-lab nested container" >"$bb/www/index.html"
    tar --numeric-owner -C "$bb" -cf "$root/usr/local/share/netops-lab/busybox-rootfs.tar" .
    rm -rf "$bb"
}

build_one() {
    local platform=$1 hash tag root
    [ -f "$here/$platform.recipe" ] || die "no recipe $here/$platform.recipe"
    hash=$(recipe_hash "$platform")
    tag="$repo:$platform-$hash"
    if docker image inspect "$tag" >/dev/null 2>&1; then
        echo "build.sh: $tag is up to date"
    else
        local SUITE EXTRA_PACKAGES SID_PACKAGES
        # shellcheck source=/dev/null
        . "$here/$platform.recipe"
        root=$(mktemp -d "$workdir/netops-lab-$platform.XXXXXX")
        trap 'umount "'"$root"'/proc" 2>/dev/null; rm -rf "'"$root"'" "'"$root"'.debootstrap.log"' EXIT
        echo "build.sh: building $tag from $SUITE in $root"
        local started=$SECONDS
        debootstrap --variant=minbase --include="$base_packages" "$SUITE" "$root" "$mirror" \
            >"$root.debootstrap.log" 2>&1 || { tail -n 30 "$root.debootstrap.log" >&2; die "debootstrap $SUITE failed"; }
        install_engine "$root"
        configure_root "$root"
        tar --numeric-owner --xattrs -C "$root" -c . | docker import \
            --change 'CMD ["/lib/systemd/systemd"]' \
            --change 'ENV container=docker' \
            --change "LABEL netops.lab.platform=$platform netops.lab.recipe=$hash" \
            - "$tag" >/dev/null
        rm -rf "$root" "$root.debootstrap.log"
        trap - EXIT
        echo "build.sh: built $tag in $((SECONDS - started)) s"
    fi
    docker tag "$tag" "$repo:$platform"
}

# Whether Debian ships docker.io 29 (sid or experimental), from the suites' package indexes (about
# 11 MB, read in seconds); no verdict when the mirror does not answer.
docker_io_version() {  # docker_io_version SUITE: the newest docker.io package there, if any
    curl -fsS --max-time 60 "$mirror/dists/$1/main/binary-$(dpkg --print-architecture)/Packages.xz" 2>/dev/null \
        | xz -dc 2>/dev/null \
        | awk '/^Package: / { found = ($2 == "docker.io") } found && /^Version:/ { print $2 }' | sort -V | tail -n 1
}

check_docker29() {
    local suite version seen=""
    for suite in sid experimental; do
        version=$(docker_io_version "$suite" || true)
        [ -n "$version" ] || continue
        seen="$seen, $suite $version"
        if [[ "$version" =~ ^([0-9]+:)?(29|[3-9][0-9])\. ]]; then
            echo "build.sh: NOTE Debian $suite has docker.io $version: add a platform that runs it (a recipe like"
            echo "build.sh:      trixie-docker28.recipe, see the top of this script); the replay stays as the fast check"
            return 0
        fi
    done
    if [ -n "$seen" ]; then
        echo "build.sh: no docker.io 29 in Debian yet (${seen#, }): Docker 29 runs on the replay platforms"
    else
        echo "build.sh: could not read Debian's source indexes: the docker.io 29 check was skipped"
    fi
}

platforms() {
    (cd "$here" && ls ./*.recipe | sed 's|^\./||; s|\.recipe$||')
}

if [ "${1:-}" = --built ]; then
    for platform in $(platforms); do
        docker image inspect "$repo:$platform-$(recipe_hash "$platform")" >/dev/null 2>&1 || exit 1
    done
    exit 0
fi

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap and chroot)"
command -v debootstrap >/dev/null || die "debootstrap is missing (run tests/lab/bootstrap-host.sh)"
docker info >/dev/null 2>&1 || die "no Docker engine answers (run tests/lab/bootstrap-host.sh)"
check_docker29

if [ $# -eq 0 ]; then
    # shellcheck disable=SC2046
    set -- $(platforms)
fi
for platform in "$@"; do
    build_one "$platform"
done
