"""The BPE trainer's loop in Numba: count the adjacent pairs, merge the most frequent, repeat.

The NumPy reference is ``fastnet.backends.numpy.gpt.most_frequent_pair`` and ``merge_pair``
(one NumPy pass each per merge); here every merge is two passes over the
tokens in one compiled call for the whole training. Pairs are counted in a
table of vocab_size² weights, which the second pass reads and clears again,
so no step touches the whole table.
"""
import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def bpe_merges(ids, word_of, weights, vocab_size):
    """The merges (n, 2) learned from the words in ``ids`` (int64; ``word_of`` the word of each token,
    ``weights`` how often it occurs), new tokens 256.. up to vocab_size; fewer when nothing is left to merge.

    The same choice as the reference at every step: the most frequent pair within a word, ties to the
    smallest (first, second); occurrences merged left to right.
    """
    ids, word_of, weights, n = ids.copy(), word_of.copy(), weights.copy(), ids.size
    counts = np.zeros(vocab_size * vocab_size, np.int64)
    merges = np.empty((vocab_size - 256, 2), np.int64)
    made = 0
    for new_token in range(256, vocab_size):
        for j in range(n - 1):
            if word_of[j] == word_of[j + 1]:
                counts[ids[j] * vocab_size + ids[j + 1]] += weights[j]
        best, best_key = 0, -1
        for j in range(n - 1):  # read each pair's total once, clearing the table as it goes
            if word_of[j] == word_of[j + 1]:
                key = ids[j] * vocab_size + ids[j + 1]
                total = counts[key]
                if total > best or (total == best and total > 0 and key < best_key):
                    best, best_key = total, key
                counts[key] = 0
        if best_key < 0:
            break  # every word is one token
        a, b = best_key // vocab_size, best_key % vocab_size
        merges[made, 0], merges[made, 1] = a, b
        made += 1
        kept, j = 0, 0
        while j < n:
            if j + 1 < n and ids[j] == a and ids[j + 1] == b and word_of[j] == word_of[j + 1]:
                ids[kept], word_of[kept], weights[kept] = new_token, word_of[j], weights[j]
                j += 2
            else:
                ids[kept], word_of[kept], weights[kept] = ids[j], word_of[j], weights[j]
                j += 1
            kept += 1
        n = kept
    return merges[:made]
