"""Scale figures of the image_folder format (issue 12, "Scale"), on an image folder this script
generates itself:

- peak memory and wall time of every job (Snakemake's benchmark files), against the size of the
  prepared pixel data (the x_*.npy files), at two dataset sizes: does a job's memory grow with
  the data? (target: every job below the pixel data size);
- preparation throughput against a bare Pillow decode-and-resize loop over the same files on the
  same number of threads, measured side by side in one run (target >= 0.8x);
- a dry run of the finished project, with nothing to do (target < 5 s).

    python benchmarks/scale_image_folder.py                 (30,000 images, then 15,000; about 4 min on 2 cores)
    python benchmarks/scale_image_folder.py --images 2000   (to try the script quickly)
    python benchmarks/scale_image_folder.py --keep --json /tmp/scale.json

The image folder (10 classes of seeded 160x120-ish JPEGs: gradients, shapes, noise; quality 90)
is generated in parallel into --work and reused when it is already there with the right count
(only with --keep, or a --work folder kept from before: without --keep the work folder is
removed at the end). The larger of the two sizes is generated; the other is a subset of it made
of hard links. Each size runs the whole workflow (prepare, train, export, convert, quantize,
predict, evaluate, benchmark, tables, manifest) in a fresh copy of the project whose config has
only that dataset and one small CNN.

Besides Snakemake's own figures (max_rss sums the resident memory of the job's processes, sampled
every 0.5 s for the first 15 s, then every 30 s, and counts the pages of memory-mapped files a
job has touched), the script samples every job's processes itself (/proc/<pid>/status every
0.2 s) and reports their anonymous memory (RssAnon + RssShmem: what the job itself allocated)
apart from their file-backed memory (RssFile: shared libraries, and the pages of any file a
process maps, which the kernel can drop or write back at any time; the jobs write and read the
.npy files with pwrite/pread, so their pages stay in the page cache, outside every job's RSS),
and the kernel's exact peak resident size of each process (VmHWM). A job shorter than
Snakemake's first sample shows only its shell's few MiB in max_rss.

Throughput: the bare loop runs in this process right before `snakemake` starts, on the same files,
both after the files were read once (page cache warm). The workflow's figure is the prepare job's
benchmark time (`s`, which includes Python's start-up and imports; that fixed part is measured on
its own as `python scripts/prepare_dataset.py --help` and reported beside it).

Run it on an otherwise idle machine: the load average before and after each run is printed.
It prints figures; it asserts nothing.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import yaml
from PIL import Image, ImageDraw
from project_copy import PROJECT, copy_project

CLASSES = 10
IMAGE_SIZE = (128, 128)  # (height, width), as in the config below
GENERATOR = "scale_image_folder v1"  # change when the generated images change: the cache is then rebuilt
DATASET = "photos"
MODEL = "cnn"
TARGET_RATIO = 0.8
TARGET_DRY_RUN_S = 5.0
MIB = 1024 * 1024


# ---------------------------------------------------------------------------------------------
# The image folder


def class_palette(label):
    """Two base colours and a preferred shape for each class, fixed."""
    rng = np.random.default_rng([12, label])
    return rng.integers(20, 236, size=(2, 3)), label % 3


def make_image(label, index, seed):
    """One photo-like RGB image: a class-coloured gradient at a random angle, a few shapes, noise."""
    rng = np.random.default_rng([seed, label, index])
    width, height = 160 + int(rng.integers(-16, 17)), 120 + int(rng.integers(-12, 13))
    (first, second), shape = class_palette(label)
    first = np.clip(first + rng.normal(0, 18, 3), 0, 255)
    second = np.clip(second + rng.normal(0, 18, 3), 0, 255)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    t = np.cos(angle) * xx / width + np.sin(angle) * yy / height
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    pixels = first * (1 - t[..., None]) + second * t[..., None]
    image = Image.fromarray(pixels.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for number in range(int(rng.integers(2, 7))):
        x0, y0 = int(rng.integers(0, width - 10)), int(rng.integers(0, height - 10))
        x1, y1 = x0 + int(rng.integers(8, width // 2)), y0 + int(rng.integers(8, height // 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        kind = shape if number == 0 else int(rng.integers(0, 3))
        if kind == 0:
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        elif kind == 1:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
        else:
            draw.polygon([(x0, y1), ((x0 + x1) // 2, y0), (x1, y1)], fill=colour)
    noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, 10, (height, width, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def class_name(label):
    return f"class_{label:02d}"


def write_images(folder, label, start, stop, seed):
    for index in range(start, stop):
        make_image(label, index, seed).save(folder / class_name(label) / f"img_{index:06d}.jpg", quality=90)
    return stop - start


def count_images(folder):
    return sum(1 for _ in folder.glob("*/*.jpg"))


def folder_is_ready(folder, count, what):
    """Whether `folder` holds `count` images made by this generator (its marker file sits beside it)."""
    marker = folder.with_name(folder.name + ".json")
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return recorded == {"count": count, "what": what} and count_images(folder) == count


def mark_ready(folder, count, what):
    folder.with_name(folder.name + ".json").write_text(json.dumps({"count": count, "what": what}))


def generate_folder(folder, per_class, seed, workers):
    """`per_class` images in each of CLASSES class folders, written on `workers` processes."""
    count, what = per_class * CLASSES, f"{GENERATOR}, seed {seed}"
    if folder_is_ready(folder, count, what):
        print(f"reusing {folder} ({count} images)")
        return 0.0
    shutil.rmtree(folder, ignore_errors=True)
    for label in range(CLASSES):
        (folder / class_name(label)).mkdir(parents=True)
    started = time.perf_counter()
    step = 250
    with ProcessPoolExecutor(max_workers=workers) as pool:
        jobs = [pool.submit(write_images, folder, label, start, min(per_class, start + step), seed)
                for label in range(CLASSES) for start in range(0, per_class, step)]
        written = sum(job.result() for job in jobs)
    assert written == count
    mark_ready(folder, count, what)
    seconds = time.perf_counter() - started
    print(f"generated {count} images into {folder} in {seconds:.0f} s on {workers} processes")
    return seconds


def subset_folder(source, folder, per_class):
    """The first `per_class` images of each class of `source`, as hard links."""
    count, what = per_class * CLASSES, f"subset of {source}"
    if folder_is_ready(folder, count, what):
        print(f"reusing {folder} ({count} images)")
        return
    shutil.rmtree(folder, ignore_errors=True)
    for label in range(CLASSES):
        (folder / class_name(label)).mkdir(parents=True)
        for path in sorted((source / class_name(label)).glob("*.jpg"))[:per_class]:
            os.link(path, folder / class_name(label) / path.name)
    mark_ready(folder, count, what)
    print(f"linked {count} images of {source} into {folder}")


def image_files(folder):
    return sorted(folder.glob("*/*.jpg"))


def warm_cache(paths):
    """Read every file once, so that both measurements below find them in the page cache."""
    total = 0
    for path in paths:
        total += len(path.read_bytes())
    return total


def decode_and_resize(path):
    with Image.open(path) as image:
        return image.convert("RGB").resize((IMAGE_SIZE[1], IMAGE_SIZE[0]), Image.Resampling.BILINEAR)


def bare_loop(paths, threads):
    """Seconds of the bare Pillow loop (open, convert("RGB"), resize to 128x128 bilinear) over
    `paths` on `threads` threads."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for _ in pool.map(decode_and_resize, paths):
            pass
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------
# The project


def project_config(images):
    config = yaml.safe_load((PROJECT / "config" / "config.yaml").read_text())
    config["datasets"] = {DATASET: {"format": "image_folder", "path": str(images), "image_size": list(IMAGE_SIZE),
                                    "color": "rgb", "test_size": 0.1, "validation_size": 0.05, "seed": 0}}
    config["models"] = {MODEL: {"architecture": "cnn", "conv_filters": [8, 16], "kernel_size": 3, "dense_units": [32]}}
    config["train"].update(epochs=1, batch_size=128)
    config["quantize"]["representative_samples"] = 200
    config["benchmark"].update(warmup=5, iterations=100)
    return config


def fresh_project(folder, images):
    """A copy of the checkout's workflow whose config/config.yaml is the scale config."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    copy_project(folder)
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(project_config(images), sort_keys=False))
    return folder


def environment():
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # the jobs call `python`
    return {**os.environ, "PATH": path}


def load_average():
    return [float(value) for value in Path("/proc/loadavg").read_text().split()[:3]]


class JobMonitor(threading.Thread):
    """Samples the processes below Snakemake every `interval` s. A process belongs to the job
    whose log its stdout (or an ancestor's) is redirected to: results/X/logs/Y.log is job X/Y, as
    results/X/benchmarks/Y.tsv is. Keeps, per job, the peak of the summed RssAnon, RssFile and
    VmRSS of its processes, and the largest VmHWM of any of them; and Snakemake's own VmHWM."""

    def __init__(self, pid, results, interval=0.2):
        super().__init__(daemon=True)
        self.root, self.results, self.interval = pid, str(results) + os.sep, interval
        self.jobs, self.scheduler_hwm_kb = {}, 0
        self.stopping = threading.Event()

    @staticmethod
    def status(pid):
        fields = {}
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("PPid", "VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
                fields[key] = int(value.split()[0])
        return fields

    def job_of(self, pid):
        try:
            target = os.readlink(f"/proc/{pid}/fd/1")
        except OSError:
            return None
        if target.startswith(self.results) and target.endswith(".log"):
            relative = Path(target[len(self.results):])
            return str(relative.parent.parent / relative.stem) if relative.parent.name == "logs" else None
        return None

    def sample(self):
        try:
            pids = [self.root] + [child.pid for child in psutil.Process(self.root).children(recursive=True)]
        except psutil.NoSuchProcess:
            return False
        statuses, jobs = {}, {}
        for pid in pids:
            try:
                statuses[pid] = self.status(pid)
                jobs[pid] = self.job_of(pid)
            except (OSError, ValueError):
                continue
        if self.root in statuses:
            self.scheduler_hwm_kb = max(self.scheduler_hwm_kb, statuses[self.root].get("VmHWM", 0))
        totals = {}
        for pid, status in statuses.items():
            job, ancestor = jobs[pid], pid
            while job is None and ancestor in statuses and ancestor != self.root:
                ancestor = statuses[ancestor]["PPid"]
                job = jobs.get(ancestor)
            if job is None:
                continue
            total = totals.setdefault(job, {"anon": 0, "file": 0, "rss": 0, "hwm": 0})
            total["anon"] += status.get("RssAnon", 0) + status.get("RssShmem", 0)
            total["file"] += status.get("RssFile", 0)
            total["rss"] += status.get("VmRSS", 0)
            total["hwm"] = max(total["hwm"], status.get("VmHWM", 0))
        for job, total in totals.items():
            peak = self.jobs.setdefault(job, dict.fromkeys(total, 0))
            for key, value in total.items():
                peak[key] = max(peak[key], value)
        return True

    def run(self):
        while not self.stopping.wait(self.interval):
            if not self.sample():
                return

    def stop(self):
        self.stopping.set()
        self.join()


def run_snakemake(project, cores, log_name, *args):
    """Wall time of one Snakemake run in `project` and its monitor; stops on failure."""
    log = project / log_name
    started = time.perf_counter()
    with open(log, "w") as output:
        process = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", str(cores), *args], cwd=project,
                                   stdout=output, stderr=subprocess.STDOUT, env=environment())
        monitor = JobMonitor(process.pid, project / "results")
        monitor.start()
        code = process.wait()
        monitor.stop()
    seconds = time.perf_counter() - started
    if code != 0:
        sys.exit(f"snakemake failed in {project} (exit {code}); the end of {log}:\n"
                 + "\n".join(log.read_text(errors="replace").splitlines()[-40:]))
    return seconds, monitor


def job_figures(results, monitor):
    rows = []
    for path in sorted(results.glob("**/benchmarks/*.tsv")):
        record = pd.read_csv(path, sep="\t").iloc[-1]
        job = str(path.relative_to(results).parent.parent / path.stem)
        sampled = monitor.jobs.get(job, {})
        rows.append({"job": job, "seconds": float(record["s"]), "max_rss_mib": float(record["max_rss"]),
                     "max_uss_mib": float(record["max_uss"]) if "max_uss" in record else None,
                     "own_anon_mib": sampled.get("anon", 0) / 1024 if sampled else None,
                     "own_file_mib": sampled.get("file", 0) / 1024 if sampled else None,
                     "own_rss_mib": sampled.get("rss", 0) / 1024 if sampled else None,
                     "process_hwm_mib": sampled.get("hwm", 0) / 1024 if sampled else None})
        # Snakemake samples every 30 s after the first 15 s: a longer job's peak can fall between.
        rows[-1]["peak_rss_mib"] = max(rows[-1]["max_rss_mib"], rows[-1]["own_rss_mib"] or 0)
    return rows


def pixel_bytes(data):
    return sum(path.stat().st_size for path in data.glob("x_*.npy"))


def dry_run(project, cores, repeats=3):
    """Median seconds of `snakemake -n` over the finished project, and whether it had nothing to do."""
    times, idle = [], True
    for _ in range(repeats):
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", str(cores)], cwd=project,
                                capture_output=True, text=True, env=environment())
        times.append(time.perf_counter() - started)
        if result.returncode != 0:
            sys.exit(f"dry run failed in {project}:\n{result.stderr[-3000:]}")
        idle = idle and "Nothing to be done" in result.stdout + result.stderr
    return statistics.median(times), times, idle


def start_up(project, repeats=3):
    """Median seconds of `python scripts/prepare_dataset.py --help`: Python start-up and the
    script's imports, the fixed part of the prepare job's time."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "scripts/prepare_dataset.py", "--help"], cwd=project, check=True,
                       capture_output=True, env=environment())
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def accuracy(results):
    try:
        table = pd.read_csv(results / "benchmark.csv")
    except OSError:
        return {}
    rows = table[(table.device == "cpu") & (table.status == "measured")]
    return {row.artifact: round(float(row.accuracy), 4) for row in rows.itertuples()}


def measure_size(images, project, threads):
    """Every figure of one dataset size."""
    paths = image_files(images)
    print(f"\n=== {len(paths)} images: {images}")
    cached = warm_cache(paths)
    print(f"page cache warmed: {len(paths)} files, {cached / MIB:.0f} MiB")
    # Side by side: the bare loop, then at once the workflow, whose first job is the preparation.
    bare_s = bare_loop(paths, threads)
    print(f"bare Pillow loop: {len(paths)} images in {bare_s:.1f} s on {threads} threads = {len(paths) / bare_s:.0f} images/s")
    warm_cache(paths)
    load_before = load_average()
    wall_s, monitor = run_snakemake(project, threads, "snakemake-run.log")
    load_after = load_average()
    results = project / "results"
    jobs = job_figures(results, monitor)
    pixels = pixel_bytes(results / DATASET / "data")
    prepare = next(job for job in jobs if job["job"] == f"{DATASET}/prepare_dataset")
    for job in jobs:
        job["below_pixel_data"] = job["peak_rss_mib"] * MIB < pixels
        job["max_rss_below_pixel_data"] = job["max_rss_mib"] * MIB < pixels
        job["own_anon_below_pixel_data"] = job["own_anon_mib"] is not None and job["own_anon_mib"] * MIB < pixels
    dry_median, dry_times, idle = dry_run(project, threads)
    startup_s = start_up(project)
    figures = {
        "images": len(paths), "image_folder": str(images), "image_bytes": cached, "project": str(project),
        "pixel_data_bytes": pixels, "pixel_data_mib": round(pixels / MIB, 1),
        "snakemake_wall_s": round(wall_s, 1), "snakemake_scheduler_peak_mib": round(monitor.scheduler_hwm_kb / 1024, 1),
        "jobs": jobs,
        "all_jobs_below_pixel_data": all(job["below_pixel_data"] for job in jobs),
        "bare_loop_s": round(bare_s, 2), "bare_images_per_s": round(len(paths) / bare_s, 1),
        "prepare_job_s": prepare["seconds"], "prepare_images_per_s": round(len(paths) / prepare["seconds"], 1),
        "prepare_vs_bare": round(bare_s / prepare["seconds"], 3),
        "prepare_start_up_s": round(startup_s, 2),
        "prepare_images_per_s_after_start_up": round(len(paths) / max(prepare["seconds"] - startup_s, 1e-3), 1),
        "prepare_vs_bare_after_start_up": round(bare_s / max(prepare["seconds"] - startup_s, 1e-3), 3),
        "dry_run_s": round(dry_median, 2), "dry_run_times_s": [round(t, 2) for t in dry_times],
        "dry_run_nothing_to_do": idle, "dry_run_input_files": len(paths),
        "accuracy_cpu": accuracy(results),
        "load_average_before": load_before, "load_average_after": load_after,
    }
    print(f"workflow: {wall_s:.0f} s wall, {len(jobs)} jobs; pixel data {pixels / MIB:.0f} MiB; "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    return figures


# ---------------------------------------------------------------------------------------------
# Report


def verdict(ok):
    return "yes" if ok else "NO"


def print_report(sizes, cores):
    print("\n" + "=" * 100)
    print(f"Scale figures (image_folder, {IMAGE_SIZE[0]}x{IMAGE_SIZE[1]} RGB, snakemake --cores {cores}, "
          f"{os.cpu_count()} CPUs here)")
    large, small = max(sizes, key=lambda f: f["images"]), min(sizes, key=lambda f: f["images"])
    print("\nPer job: wall time (s) and peak memory (MiB). s, max_rss: Snakemake's benchmark file. rss, anon, file: "
          "this script's 0.2 s samples of the job's processes\n(resident: all, anonymous, file-backed). <px: the larger "
          "of max_rss and rss is below the pixel data size of that run.")
    by_job = {}
    for figures in sizes:
        for job in figures["jobs"]:
            by_job.setdefault(job["job"], {})[figures["images"]] = job
    columns = f"{'s':>6} {'max_rss':>7} {'rss':>5} {'anon':>5} {'file':>5} {'<px':>3}"
    print(f"{'':38}" + "".join(f" | {str(figures['images']) + ' images':^{len(columns)}}" for figures in sizes))
    header = f"{'job':38}" + "".join(f" | {columns}" for _ in sizes)
    print(header)
    print("-" * len(header))
    for name, per_size in by_job.items():
        line = f"{name:38}"
        for figures in sizes:
            job = per_size.get(figures["images"])
            if job is None:
                line += " | " + " " * len(columns)
                continue
            sampled = [f"{job[key]:5.0f}" if job["own_rss_mib"] else "    -"
                       for key in ("own_rss_mib", "own_anon_mib", "own_file_mib")]
            line += (f" | {job['seconds']:6.1f} {job['max_rss_mib']:7.0f} {' '.join(sampled)} "
                     f"{verdict(job['below_pixel_data']):>3}")
        print(line)
    print("('-': the job ended before the script's first sample)")
    print()
    rows = [
        ("images", *(f"{f['images']}" for f in sizes), ""),
        ("pixel data (x_*.npy)", *(f"{f['pixel_data_mib']:.0f} MiB" for f in sizes), ">= 1.4 GB at the large size"),
        ("largest job max_rss (Snakemake)", *(f"{max(j['max_rss_mib'] for j in f['jobs']):.0f} MiB" for f in sizes),
         ""),
        ("largest job peak (either measure)", *(f"{max(j['peak_rss_mib'] for j in f['jobs']):.0f} MiB" for f in sizes),
         "below the pixel data"),
        ("every job below pixel data", *(verdict(f["all_jobs_below_pixel_data"]) for f in sizes), "yes"),
        ("largest job anon (sampled)", *(f"{max(j['own_anon_mib'] or 0 for j in f['jobs']):.0f} MiB" for f in sizes), ""),
        ("every job's anon below pixel data", *(verdict(all(j["own_anon_below_pixel_data"] or not j["own_anon_mib"]
                                                        for j in f["jobs"])) for f in sizes), "(for reference)"),
        ("snakemake scheduler peak", *(f"{f['snakemake_scheduler_peak_mib']:.0f} MiB" for f in sizes), "(not a job)"),
        ("bare Pillow loop", *(f"{f['bare_images_per_s']:.0f} img/s" for f in sizes), ""),
        ("prepare job (tsv s)", *(f"{f['prepare_images_per_s']:.0f} img/s" for f in sizes), ""),
        ("prepare / bare", *(f"{f['prepare_vs_bare']:.2f}x" for f in sizes), f">= {TARGET_RATIO}x"),
        ("prepare start-up (--help)", *(f"{f['prepare_start_up_s']:.2f} s" for f in sizes), ""),
        ("prepare after start-up", *(f"{f['prepare_images_per_s_after_start_up']:.0f} img/s" for f in sizes), ""),
        ("prepare / bare, after start-up", *(f"{f['prepare_vs_bare_after_start_up']:.2f}x" for f in sizes), "(for reference)"),
        ("dry run, nothing to do", *(f"{f['dry_run_s']:.2f} s" + ("" if f["dry_run_nothing_to_do"] else " (NOT idle)")
                                     for f in sizes), f"< {TARGET_DRY_RUN_S:.0f} s"),
        ("dry run input images", *(f"{f['dry_run_input_files']}" for f in sizes), ""),
        ("workflow wall time", *(f"{f['snakemake_wall_s']:.0f} s" for f in sizes), ""),
        ("accuracy (cpu)", *(", ".join(f"{k} {v:.3f}" for k, v in f["accuracy_cpu"].items()) for f in sizes), ""),
        ("load average before/after", *(f"{f['load_average_before'][0]:.2f} / {f['load_average_after'][0]:.2f}"
                                        for f in sizes), f"<= {os.cpu_count()} (idle machine)"),
    ]
    width = max(len(value) for row in rows for value in row[1:-1]) + 2
    print(f"{'figure':34}" + "".join(f"{f['images']:>{width}}" for f in sizes) + "   target")
    for label, *values, target in rows:
        print(f"{label:34}" + "".join(f"{value:>{width}}" for value in values) + f"   {target}")
    growth = [(name, per_size[large["images"]]["peak_rss_mib"] - per_size[small["images"]]["peak_rss_mib"])
              for name, per_size in by_job.items() if large["images"] in per_size and small["images"] in per_size]
    if len(sizes) > 1 and growth:
        name, most = max(growth, key=lambda item: item[1])
        print(f"\nLargest growth of a job's peak memory from {small['images']} to {large['images']} images: {most:+.0f} MiB "
              f"({name}); pixel data grew by {large['pixel_data_mib'] - small['pixel_data_mib']:+.0f} MiB")
        anon = [(name, (per_size[large["images"]]["own_anon_mib"] or 0) - (per_size[small["images"]]["own_anon_mib"] or 0))
                for name, per_size in by_job.items() if large["images"] in per_size and small["images"] in per_size]
        name, most = max(anon, key=lambda item: item[1])
        print(f"Largest growth of a job's anonymous memory: {most:+.0f} MiB ({name})")
    busy = [f for f in sizes if max(f["load_average_before"][0], f["load_average_after"][0]) > os.cpu_count()]
    if busy:
        print(f"Note: the load average exceeded the {os.cpu_count()} CPUs during "
              + ", ".join(f"the {f['images']}-image run" for f in busy) + ": other work was running, times are inflated.")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=30000, help="images in the large folder (rounded up to a "
                        f"multiple of {CLASSES} classes)")
    parser.add_argument("--sizes", type=int, default=None, help="images in the second folder (default half of "
                        "--images; a larger number is fine: the larger folder is generated, the other linked from it)")
    parser.add_argument("--threads", type=int, default=2, help="threads of the bare loop, and snakemake --cores "
                        "(the prepare job decodes on that many threads)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/scale-image-folder"),
                        help="work folder: image folders and project copies")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (and reuse its images next time)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated images")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args()
    second = args.sizes if args.sizes is not None else args.images // 2
    per_classes = list(dict.fromkeys(-(-count // CLASSES) for count in (args.images, second)))  # in run order
    largest = max(per_classes)
    started = time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    try:
        # The largest folder is generated, the other one is a subset of it.
        largest_images = args.work / f"images-{largest * CLASSES}"
        generation_s = generate_folder(largest_images, largest, args.seed, os.cpu_count())
        folders = []
        for per_class in per_classes:
            folders.append(args.work / f"images-{per_class * CLASSES}")
            if per_class < largest:
                subset_folder(largest_images, folders[-1], per_class)
        sizes = []
        for images in folders:
            project = fresh_project(args.work / f"project-{images.name.split('-')[1]}", images)
            sizes.append(measure_size(images, project, args.threads))
        print_report(sizes, args.threads)
        total_s = time.perf_counter() - started
        print(f"\nWhole script: {total_s / 60:.1f} min (image generation {generation_s:.0f} s)")
        if args.json:
            report = {"settings": {"images": args.images, "sizes": second, "threads": args.threads,
                                   "cores": args.threads, "cpus": os.cpu_count(), "seed": args.seed,
                                   "image_size": list(IMAGE_SIZE), "model": project_config("-")["models"]},
                      "targets": {"job_peak_memory": "below the pixel data size", "prepare_vs_bare": TARGET_RATIO,
                                  "dry_run_s": TARGET_DRY_RUN_S, "pixel_data_bytes": 1.4e9},
                      "sizes": sizes, "generation_s": round(generation_s, 1), "script_s": round(total_s, 1)}
            args.json.write_text(json.dumps(report, indent=2) + "\n")
            print(f"figures written to {args.json}")
    finally:
        if not args.keep:
            shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
