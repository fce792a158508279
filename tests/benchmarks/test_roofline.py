import numpy as np
import pytest

from benchmarks.roofline import ModelShape, decode_roofline, gguf_weight_bytes, model_shape, onnx_weight_bytes

SHAPE = ModelShape(n_layer=2, n_embd=64, n_head=4, n_head_kv=2, n_vocab=100)


def test_kv_elements_per_position_counts_k_and_v_of_every_layer():
    assert SHAPE.kv_elements_per_position() == 2 * 2 * 2 * 16


def test_roofline_divides_bandwidth_by_weights_plus_mean_context_kv():
    roof = decode_roofline(weight_bytes=1_000_000, shape=SHAPE, kv_dtype_bytes=2, prompt_tokens=10, new_tokens=11,
                           bandwidth_gb_s=1.0)
    kv = 128 * 2 * (10 + 5)  # mean context of decode steps: prompt + (new - 1) / 2
    assert roof["kv_bytes_per_token"] == kv
    assert roof["bytes_per_token"] == 1_000_000 + kv
    assert roof["decode_tok_s"] == pytest.approx(1e9 / (1_000_000 + kv))


def test_gguf_weights_count_the_tied_embedding_once_as_the_head(tiny_gguf):
    from infir_edge.models.gguf_header import read_gguf_header

    tensors = {t.name: t.nbytes for t in read_gguf_header(tiny_gguf).tensors}
    assert "output.weight" not in tensors  # tied: token_embd is the head and is read every token
    assert gguf_weight_bytes(tiny_gguf) == sum(tensors.values())


def test_gguf_weights_leave_out_a_lookup_only_embedding(tmp_path):
    import gguf

    path = tmp_path / "untied.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tensor("token_embd.weight", np.zeros((100, 64), dtype=np.float32))
    writer.add_tensor("output.weight", np.zeros((100, 64), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    assert gguf_weight_bytes(path) == 100 * 64 * 2  # the f16 head only


def test_onnx_weights_leave_out_initializers_only_gathered(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    table = numpy_helper.from_array(np.zeros((100, 8), dtype=np.float32), "table")
    head = numpy_helper.from_array(np.zeros((8, 100), dtype=np.float32), "head")
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["x"]), helper.make_node("MatMul", ["x", "head"], ["y"])],
        "g", [helper.make_tensor_value_info("ids", TensorProto.INT64, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 100])], initializer=[table, head])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), str(path))
    assert onnx_weight_bytes(path) == 8 * 100 * 4


def test_model_shape_of_a_gguf_and_of_a_checkpoint_agree(tiny_gguf, tiny_checkpoint):
    shape = model_shape(tiny_gguf)
    assert (shape.n_layer, shape.n_embd, shape.n_head, shape.n_head_kv) == (2, 64, 4, 2)
    assert model_shape(tiny_checkpoint).n_vocab == shape.n_vocab
