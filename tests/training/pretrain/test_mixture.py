from __future__ import annotations

from training.pretrain.mixture import MixtureSampler, batch_digest


def test_every_prefix_keeps_the_weights_within_one_sequence():
    sampler = MixtureSampler([0.5, 0.3, 0.2], [1000, 1000, 1000])
    counts = [0, 0, 0]
    for drawn in range(1, 301):
        counts[sampler.draw().source] += 1
        assert all(abs(c - w * drawn) < 1.0 + 1e-9 for c, w in zip(counts, (0.5, 0.3, 0.2), strict=True))


def test_a_restored_sampler_continues_with_the_next_sequence():
    straight = MixtureSampler([2, 1], [7, 5])
    expected = straight.draw_many(40)
    first = MixtureSampler([2, 1], [7, 5])
    head = first.draw_many(13)
    resumed = MixtureSampler([2, 1], [7, 5])
    resumed.load_state_dict(first.state_dict())
    assert head + resumed.draw_many(27) == expected


def test_an_exhausted_source_starts_a_new_epoch():
    draws = MixtureSampler([1.0], [3]).draw_many(7)
    assert [d.index for d in draws] == [0, 1, 2, 0, 1, 2, 0]
    assert [d.epoch for d in draws] == [0, 0, 0, 1, 1, 1, 2]


def test_digest_tells_batches_apart():
    draws = MixtureSampler([1, 1], [10, 10]).draw_many(8)
    assert batch_digest(draws[:4]) != batch_digest(draws[4:])
    assert batch_digest(draws[:4]) != batch_digest(draws[1:5])  # one sequence shifted
