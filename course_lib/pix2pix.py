"""The Pix2Pix objective and one training step (Isola et al. 2017, "Image-to-Image Translation with Conditional
Adversarial Networks", CVPR, Sec. 3.1 and 3.3).

    L_cGAN(G, D) = E_{x,y}[log D(x, y)] + E_{x,z}[log(1 - D(x, G(x, z)))]                 (Eq. 1)
    L_GAN(G, D)  = E_y[log D(y)] + E_{x,z}[log(1 - D(G(x, z)))]   (unconditional: D never sees x)   (Eq. 2)
    L_L1(G)      = E_{x,y,z}[ ||y - G(x, z)||_1 ]                                          (Eq. 3)
    G*           = arg min_G max_D  L_cGAN(G, D) + lambda L_L1(G),   lambda = 100           (Eq. 4)

As in the paper (Sec. 3.3): D and G take turns, one gradient step each; G maximises log D(x, G(x, z)) (the
non-saturating loss) instead of minimising log(1 - D(x, G(x, z))); D's objective is divided by 2 "to slow down the
rate at which D learns relative to G"; Adam with lr 2e-4, beta1 0.5. D's logits here are a map (the PatchGAN), and
the binary cross-entropy averages over all patches. The noise z is dropout in G (Sec. 3.2).

The ablation of the paper's Table 1 / Fig. 4 is `pix2pix_step(..., l1=..., gan=...)`: L1 alone (gan=False), cGAN
alone (l1=False), L1 + cGAN; with `UNet(skips=False)` the encoder-decoder of Table 2.
"""
import torch
import torch.nn.functional as F

from .gan import d_loss, g_loss

LAMBDA = 100.0


def discriminator_loss(D, x, y, fake) -> torch.Tensor:
    """D's half of Eq. 1, to minimise: -[log D(x, y) + log(1 - D(x, G(x)))] / 2. `fake` is detached here, so this
    loss never sends gradients into G."""
    return 0.5 * d_loss(D(x, y), D(x, fake.detach()))


def generator_loss(D, x, y, fake, lam: float = LAMBDA, l1: bool = True, gan: bool = True) -> tuple:
    """G's objective of Eq. 4 (non-saturating): -log D(x, G(x)) + lam * |y - G(x)|_1 (mean over pixels).
    Returns (total, gan term, L1 term); l1=False or gan=False drops a term (the paper's ablation)."""
    adv = g_loss(D(x, fake)) if gan else fake.new_zeros(())
    rec = F.l1_loss(fake, y)
    return (adv if gan else 0) + (lam * rec if l1 else 0), adv, rec


def train_step(G, D, opt_g, opt_d, x, y, lam: float = LAMBDA, l1: bool = True, gan: bool = True) -> dict:
    """One Pix2Pix update on a batch: input x, target y (both (B,C,H,W) in [0,1]).
    1. fake = G(x);  2. D step on discriminator_loss (real pair (x, y) vs detached (x, fake));
    3. G step on generator_loss (D's weights are not updated by it). Without the GAN term (L1 only) D is skipped.
    Returns the losses as floats: loss_d, loss_g, gan, l1."""
    G.train(), D.train()
    fake = G(x)
    loss_d = torch.zeros(())
    if gan:
        loss_d = discriminator_loss(D, x, y, fake)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
    D.requires_grad_(False)   # G's step needs gradients through D, not for D
    loss_g, adv, rec = generator_loss(D, x, y, fake, lam, l1, gan)
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    D.requires_grad_(True)
    return {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "gan": adv.item(), "l1": rec.item()}


def optimizers(G, D, lr: float = 2e-4):
    """Adam(lr 2e-4, betas (0.5, 0.999)) for G and D, as in the paper (Sec. 3.3)."""
    return (torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999)),
            torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999)))


@torch.no_grad()
def translate(G, coded: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """G's outputs for inputs (N,C,H,W), in eval mode (running batch-norm statistics, no dropout), on G's device."""
    G.eval()
    device = next(G.parameters()).device
    return torch.cat([G(coded[i:i + batch_size].to(device)).cpu() for i in range(0, len(coded), batch_size)])


@torch.no_grad()
def evaluate(G, coded, photos, labels, segmenter=None) -> dict:
    """The ablation's numbers on a split: L1, PSNR and SSIM against the real photos (RGB, course_lib.metrics),
    sharpness (mean |gradient| of the outputs / of the real photos, as in lessons 07-08) and, with a segmenter,
    the FCN-score (course_lib.fcn_score) of the outputs against the input label maps."""
    from . import metrics
    fake = translate(G, coded)
    out = {"l1": F.l1_loss(fake, photos).item(), "psnr": metrics.psnr(fake, photos),
           "ssim": metrics.ssim(fake, photos), "sharpness": metrics.sharpness_ratio(fake, photos)}
    if segmenter is not None:
        from .fcn_score import fcn_score
        out.update(fcn_score(segmenter, fake, labels))
    return out


def init_weights(model, std: float = 0.02):
    """Conv weights ~ N(0, std^2), std 0.02 (the paper's, after DCGAN); norm scales ~ N(1, std^2) and zero biases
    as in the reference code (pytorch-CycleGAN-and-pix2pix's init_weights, after dcgan.torch)."""
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            torch.nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)
        elif isinstance(m, (torch.nn.BatchNorm2d, torch.nn.InstanceNorm2d)) and m.weight is not None:
            torch.nn.init.normal_(m.weight, 1.0, std)
            torch.nn.init.zeros_(m.bias)
    return model
