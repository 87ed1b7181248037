"""The must-show runs of "learning beyond the book's first network" (the README's table).

    FASTNET_DATA=DIR python scripts/beyond_the_book.py regularised --seeds 0-4
    FASTNET_DATA=DIR python scripts/beyond_the_book.py softmax --seeds 0-4

``regularised``: 784-100-10, cross-entropy, L2 lmbda 5.0, xavier init, eta 0.5,
batch 10, 30 epochs on the 60,000 training images; test accuracy and seconds
of SGD per run (target: 98% in at most 30 s).
``softmax``: 784-16-16-10 after 10 epochs, softmax output with the
log-likelihood cost, ReLU hidden layers and xavier init, against the
sigmoid/quadratic default (normal init, eta 3.0), from the same seeds.
"""
import argparse
import statistics

import fastnet

RUNS = {
    "regularised": {"784-100-10 cross-entropy, L2 5.0, xavier, eta 0.5": (
        [784, 100, 10], dict(cost="cross_entropy", init="xavier"), dict(epochs=30, eta=0.5, lmbda=5.0))},
    "softmax": {
        "784-16-16-10 sigmoid, quadratic, normal init, eta 3.0 (the default)": (
            [784, 16, 16, 10], {}, dict(epochs=10, eta=3.0)),
        "784-16-16-10 ReLU, softmax + log-likelihood, xavier, eta 0.02": (
            [784, 16, 16, 10], dict(activation="relu", cost="log_likelihood", init="xavier"),
            dict(epochs=10, eta=0.02)),
    },
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", choices=RUNS)
    parser.add_argument("--seeds", default="0-4", help="first-last")
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args()
    first, last = map(int, args.seeds.split("-"))
    (train_X, train_y), (test_X, test_y) = fastnet.datasets.load_mnist(progress=False)
    for name, (sizes, network, training) in RUNS[args.runs].items():
        finals, bests, seconds = [], [], []
        for seed in range(first, last + 1):
            net = fastnet.Network(sizes, seed=seed, backend=args.backend, **network)
            history = net.fit(train_X, train_y, test=(test_X, test_y), progress=False, **training)
            finals.append(history["test_accuracy"][-1])
            bests.append(max(history["test_accuracy"]))
            seconds.append(sum(history["seconds"]))
            print(f"{name}, seed {seed} ({net.backend}): final {finals[-1]:.2%}, best {bests[-1]:.2%}, "
                  f"SGD {seconds[-1]:.1f} s", flush=True)
        print(f"{name}: final median {statistics.median(finals):.2%} (min {min(finals):.2%}, max {max(finals):.2%}), "
              f"best median {statistics.median(bests):.2%}, SGD median {statistics.median(seconds):.1f} s", flush=True)


if __name__ == "__main__":
    main()
