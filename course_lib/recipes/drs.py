"""Discriminator for rejection sampling of the shipped DCGAN (issue 14 item 4) -> checkpoints/dcgan_mnist_drs_d.pt.

Trains a fresh DCGAN discriminator to tell the MNIST training digits from samples of the fixed, shipped EMA
generator (course_lib.rejection: Azadi et al. 2019 need a near-optimal D for a fixed G; dcgan_mnist.pt holds no
discriminator), then calibrates D~_M and gamma on burn-in samples and stores them in the metadata, with the
acceptance rate and the IS / FD / coverage / in-between share of `eval_samples` accepted samples.
"""
import time

import torch

from .. import data
from ..checkpoint import load_model, save_checkpoint
from ..dcgan import Discriminator, weights_init
from ..rejection import calibrate, rejection_sample, train_discriminator
from . import common

FULL = dict(steps=1500, batch_size=64, ndf=32, lr=2e-4, keep=0.5, eval_samples=10_000)
FAST = dict(steps=3, batch_size=16, ndf=8, lr=2e-4, keep=0.5, eval_samples=200)
HELP = {"keep": "share of burn-in samples with F(x) > 0 (sets gamma; the acceptance rate is near it)"}


def main(argv: list[str]) -> int:
    from ..gan_metrics import class_coverage, classify, frechet_distance, inception_score
    args = common.parse(argv, "drs", __doc__, FULL, FAST, checkpoint="dcgan_mnist_drs_d", help=HELP)
    common.start(args, data_parallel=False)
    G, _ = load_model("dcgan_mnist")
    D = Discriminator(args.ndf)
    D.apply(weights_init)
    real = data.mnist_tensors(train=True, n=512 if args.fast else None)[0] * 2 - 1
    start = time.perf_counter()
    losses = train_discriminator(D, G, real, args.steps, args.batch_size, args.lr, seed=args.seed)
    logit_max, gamma = calibrate(D, G, n=1000 if args.fast else 10_000, keep=args.keep)
    train_seconds = round(time.perf_counter() - start, 1)
    images, rate = rejection_sample(G, D, args.eval_samples, logit_max, gamma)
    clf, _ = load_model("mnist_cnn")
    feats, probs = classify(clf, (images + 1) / 2)
    test_feats, _ = classify(clf, data.mnist_tensors(train=False, n=10_000)[0])
    cov = class_coverage(probs)
    metrics = {"recipe": args.settings, "logit_max": logit_max, "gamma": gamma, "train_seconds": train_seconds,
               "loss": sum(losses[-100:]) / len(losses[-100:]), "acceptance": rate,
               "eval": {"IS": inception_score(probs), "FD": frechet_distance(feats, test_feats),
                        "min_class": float(cov.min()), "max_class": float(cov.max()),
                        "in_between": float((probs.max(1).values < 0.9).float().mean()), "samples": len(images)}}
    save_checkpoint(args.out, D, {"ndf": args.ndf}, metrics)
    print(f"saved {args.out}: acceptance {rate:.2f}, {metrics['eval']}")
    return common.finish()
