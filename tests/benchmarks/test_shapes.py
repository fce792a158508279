import pytest

from benchmarks.shapes import SHAPE_PRESET, _markdown, write_roofline_report
from infir_edge.errors import InvalidRequestError
from infir_edge.models.infir import PRESETS


def test_the_1b_shape_is_the_infir_preset_with_its_rope_scaling():
    preset = PRESETS[SHAPE_PRESET]
    shape = (preset["num_hidden_layers"], preset["hidden_size"], preset["num_key_value_heads"], preset["vocab_size"])
    assert shape == (16, 2048, 8, 128256)
    assert preset["rope_scaling"]["rope_type"] == "llama3"


def test_an_unknown_shape_is_refused(tmp_path):
    with pytest.raises(InvalidRequestError, match="7b"):
        write_roofline_report(["7b"], tmp_path)


def test_the_table_shows_each_thread_count_and_the_best(tmp_path):
    row = {"shape": "1b", "format": "gguf", "quant": "q4_0", "backend": "llamacpp", "file_bytes": 700 * 2**20,
           "roofline": {"bytes_per_token": 720 * 2**20, "decode_tok_s": 50.0},
           "decode_by_threads": {1: 15.0, 2: 24.0}, "best_threads": 2, "best_fraction": 0.48, "errors": {}}
    data = {"machine": {"cpu_model": "cpu", "logical_cores": 2},
            "memory_bandwidth": {"best_bandwidth_gb_s": 37.0, "bandwidth_gb_s": {"values": [1, 2]}, "threads": 2},
            "prompt_tokens": 128, "new_tokens": 64, "repeats": 3, "rows": [row]}
    text = _markdown(data, [1, 2])
    assert "| 1b | gguf q4_0 | llamacpp | 700 | 720 | 50.0 | 15.0 | 24.0 | 2 | 48% |" in text
