import numpy as np

from benchmarks.cell import make_prompt, peak_rss_bytes, sdk_run


def test_peak_rss_is_at_least_the_resident_memory_now():
    import psutil

    block = np.ones(64 * 2**20 // 8)  # touched: resident
    assert peak_rss_bytes() >= psutil.Process().memory_info().rss >= block.nbytes


def test_a_child_s_peak_rss_leaves_out_the_parent_s_memory():
    import subprocess
    import sys

    block = np.ones(768 * 2**20 // 8)  # the bench process holds gigabytes when it starts a measurement
    code = "from benchmarks.cell import peak_rss_bytes; print(peak_rss_bytes())"
    child_peak = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert child_peak < block.nbytes / 2


def test_the_prompt_has_exactly_the_asked_number_of_tokens(llama_engine):
    ids, text = make_prompt(llama_engine, 40)
    assert len(ids) == 40 and text and llama_engine.tokenize(text)[:30] == ids[:30]


def test_a_benchmark_run_generates_every_new_token(llama_engine):
    ids, _ = make_prompt(llama_engine, 16)
    timings = sdk_run(llama_engine, ids, 12)
    assert timings.generated_tokens == 12 and timings.prompt_tokens == 16
