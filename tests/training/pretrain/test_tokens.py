from __future__ import annotations

import torch

from training.data.sources import read_jsonl
from training.pretrain.tokens import IGNORE_INDEX, SourceSpec, TokenWindows, packed_batch, tokenize_source


def _window(tokens: list[int], positions: list[int]):
    return torch.tensor(tokens), torch.tensor(positions)


def test_attention_stays_inside_each_document():
    # two documents in one window: 0-2 and 3-6, the first token of the next window at the end
    batch = packed_batch([_window([5, 6, 7, 8, 9, 10, 11, 12], [0, 1, 2, 0, 1, 2, 3, 4])], "cpu")
    mask = batch["attention_mask"][0, 0]  # [L, L]
    assert mask[2, :3].all() and not mask[2, 3:].any()  # the end of document 1 sees only document 1
    assert mask[3, 3] and not mask[3, :3].any()  # the start of document 2 sees only itself
    assert not mask.triu(1).any()  # causal


def test_the_first_token_of_a_document_is_not_a_label():
    batch = packed_batch([_window([5, 6, 7, 8, 9, 10, 11, 12], [0, 1, 2, 0, 1, 2, 3, 4])], "cpu")
    assert batch["labels"][0].tolist() == [6, 7, IGNORE_INDEX, 9, 10, 11, 12]
    assert batch["position_ids"][0].tolist() == [0, 1, 2, 0, 1, 2, 3]


def test_packed_documents_compute_what_they_compute_alone(tiny_checkpoint):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_checkpoint, attn_implementation="sdpa").eval()
    first, second = [11, 12, 13, 14, 15], [21, 22, 23, 24]
    batch = packed_batch([_window(first + second + [0], [0, 1, 2, 3, 4, 0, 1, 2, 3, 0])], "cpu")
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       position_ids=batch["position_ids"]).logits[0]
        alone = model(input_ids=torch.tensor([second])).logits[0]
    torch.testing.assert_close(packed[5:], alone, atol=1e-5, rtol=1e-5)


def test_tokenizing_a_domain_keeps_its_documents_and_a_separator_each(tmp_path, kept_documents, tiny_checkpoint):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_checkpoint)
    folder = tmp_path / "math"
    counts = tokenize_source(SourceSpec(kept_documents, "math"), folder,
                             tokenizer_file=tiny_checkpoint / "tokenizer.json", vocab_size=len(tokenizer),
                             separator="<|endoftext|>", tasks=1, seed=0)
    texts = [d["text"] for f in kept_documents.glob("*.jsonl.gz") for d in read_jsonl(f)
             if d["metadata"]["domain"] == "math"]
    assert counts["documents"] == len(texts)
    assert counts["tokens"] == sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) + 1 for t in texts)
    windows = TokenWindows(folder, 32, len(tokenizer))
    assert len(windows) == counts["tokens"] // 33
    separator = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    tokens, positions = windows[0]
    for index in range(1, 33):  # a position restarts exactly after each separator
        assert (positions[index] == 0) == (tokens[index - 1] == separator)


def test_a_domain_with_no_documents_is_an_error(tmp_path, kept_documents, tiny_checkpoint):
    import pytest

    from training.pretrain.errors import TrainingError

    with pytest.raises(TrainingError, match="no documents of domain 'poetry'"):
        tokenize_source(SourceSpec(kept_documents, "poetry"), tmp_path / "poetry",
                        tokenizer_file=tiny_checkpoint / "tokenizer.json", vocab_size=49152,
                        separator="<|endoftext|>", tasks=1, seed=0)
