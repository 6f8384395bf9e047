"""DCGAN on MNIST (lesson 04) -> checkpoints/dcgan_mnist.pt.

Adam(2e-4, beta1 0.5) on the non-saturating GAN loss (course_lib.dcgan.train_step); the saved generator is the
EMA of G's weights. After each epoch: the classifier Inception Score (lesson 05) of G and of its EMA, and an
interim checkpoint. On several processes or GPUs: `torchrun --nproc_per_node=8 -m course_lib.train dcgan`
(the same global batch, split over the processes).
"""
import copy
import time

import torch

from .. import distributed
from ..checkpoint import load_model, save_checkpoint
from ..data import mnist_loader
from ..dcgan import NZ, Discriminator, Generator, ema_update, gan_step, optimizers, weights_init
from ..gan_metrics import classify, inception_score, sample
from ..loop import fit
from . import common

FULL = dict(epochs=20, batch_size=64, ngf=32, ndf=32, ema=0.999, n_train=None)
FAST = dict(epochs=1, batch_size=64, ngf=32, ndf=32, ema=0.999, n_train=512)
HELP = dict(batch_size="global batch (split over torchrun processes)", ema="EMA decay of the saved generator "
            "(0: save G itself)", n_train="training digits (default: all 60,000)")


def quick_scores(generators: dict, n: int = 1000) -> dict:
    """Classifier Inception Score (lesson 05) of n samples of each generator: progress to watch while training."""
    clf, _ = load_model("mnist_cnn")
    scores = {}
    for name, G in generators.items():
        mode = G.training
        scores[name] = inception_score(classify(clf, sample(G.eval(), n))[1])
        G.train(mode)
    return scores


def main(argv: list[str]) -> int:
    args = common.parse(argv, "dcgan", __doc__, FULL, FAST, checkpoint="dcgan_mnist", help=HELP)
    device = common.start(args)  # the same initial weights in every process
    G, D = Generator(NZ, args.ngf).to(device), Discriminator(args.ndf).to(device)
    G.apply(weights_init), D.apply(weights_init)
    G, D = distributed.wrap(G, device), distributed.wrap(D, device)
    torch.manual_seed(args.seed + 1000 * distributed.rank())  # but different noise z in each process
    opt_g, opt_d = optimizers(G, D)
    G_ema = copy.deepcopy(distributed.unwrap(G)).eval()
    loader = mnist_loader(args.batch_size, n=args.n_train, seed=args.seed)
    config = {"nz": NZ, "ngf": args.ngf}
    recipe = {**args.settings, "seed": args.seed, "processes": distributed.world_size(), "device": str(device)}
    step = gan_step(G, D, opt_g, opt_d)

    def step_and_average(batch):
        metrics = step(batch)
        ema_update(G_ema, distributed.unwrap(G), args.ema)
        return metrics

    def end_of_epoch(epoch, history):
        loader.sampler.set_epoch(epoch + 1)  # a new shuffle each epoch
        if distributed.is_main():
            history.log(**quick_scores({"is_g": distributed.unwrap(G), "is_ema": G_ema}))
        save_checkpoint(args.out, G_ema if args.ema else G, config,
                        {"epochs": epoch + 1, **history.last(), "recipe": recipe,
                         "train_seconds": round(time.perf_counter() - start, 1)})

    start = time.perf_counter()
    fit(step_and_average, loader, args.epochs, device, on_epoch_end=end_of_epoch, desc="dcgan")
    if distributed.is_main():
        print(f"saved {args.out} after {time.perf_counter() - start:.0f} s")
    return common.finish()
