"""Final and best test accuracy of `fastnet train` over several seeds (the README's results table).

    FASTNET_DATA=DIR python scripts/seed_sweep.py --sizes 784,16,16,10 --seeds 0-8
    FASTNET_DATA=DIR python scripts/seed_sweep.py --sizes 784,30,10 --seeds 0-8 --target 0.95

Same defaults as `fastnet train`: sigmoid, quadratic cost, batch 10, eta 3.0,
30 epochs, float32, the 60,000 training images.
"""
import argparse
import statistics

import fastnet


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="784,16,16,10")
    parser.add_argument("--seeds", default="0-8", help="first-last")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--target", type=float, default=0.94, help="accuracy to count runs against")
    args = parser.parse_args()
    first, last = map(int, args.seeds.split("-"))
    (train_X, train_y), (test_X, test_y) = fastnet.datasets.load_mnist(progress=False)
    finals, bests = [], []
    for seed in range(first, last + 1):
        net = fastnet.Network([int(width) for width in args.sizes.split(",")], seed=seed)
        history = net.fit(train_X, train_y, epochs=args.epochs, test=(test_X, test_y), progress=False)
        finals.append(history["test_accuracy"][-1])
        bests.append(max(history["test_accuracy"]))
        print(f"seed {seed}: final {finals[-1]:.2%}, best {bests[-1]:.2%}", flush=True)
    for name, values in (("final", finals), ("best", bests)):
        print(f"{name}: min {min(values):.2%}, median {statistics.median(values):.2%}, max {max(values):.2%}, "
              f">= {args.target:.0%} in {sum(v >= args.target for v in values)} of {len(values)}")


if __name__ == "__main__":
    main()
