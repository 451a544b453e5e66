#!/usr/bin/python3
"""Write the StyleGAN2-ADA training-step fixtures: tests/fixtures/train/{alis,creps}_step.safetensors.

Usage (from the repository root):  /usr/bin/python3 tools/reference/make_sg2ada_train_fixtures.py
Deterministic (fixed torch.Generator seed, one thread); every tensor is float64.

Two iterations of the StyleGAN2-ADA training loop as ALIS runs it (alis.md §4: the official
training_loop.py and loss.py), on a tiny ALIS generator (alis_reference.py) and the SG2-ADA resnet
discriminator (discriminator_reference.py), written here from the spec with torch.autograd and
torch.optim.Adam. Per iteration, in this order (phase.opt.zero_grad(set_to_none=True) before each):

  G main: softplus(-D(G(...))).mean(), Adam(lr 0.0025·4/5, betas (0, 0.99^(4/5))).
  G reg (iteration 0, i % 4 == 0): on the first B/2 samples, pl_grads = ∂Σ(img · n/√(HW))/∂ws_centre
          (create_graph), ℓ = √(mean_rows Σ_w pl_grads²), m' = m.lerp(mean ℓ, 0.01) (not detached),
          (img[:, 0, 0, 0]·0 + 2 (ℓ − m')²).mean()·4 backward.
  D main: softplus(D(G(...))).mean() backward, then (real_logits·0 + softplus(-real_logits)).mean() backward;
          Adam(lr 0.0025·16/17, betas (0, 0.99^(16/17))).
  D reg (iteration 0): (real_logits·0 + γ/2 Σ(∂ΣD(x)/∂x)²).mean()·16 backward, γ = 10.
  then max_shift_strength ← min(int(cur_nimg/1000), 1), G_ema ← G.lerp(G_ema, β) with
  β = 0.5^(B / min(B·10/32·1000, 0.05·cur_nimg)), buffers copied, cur_nimg += B.

The run is taken up at cur_nimg = 2000 (as if resumed after 2 kimg), so δ is in use (strength 1) and the
EMA's ramp-up gives a β that is neither 0 nor 1. Each G forward of a phase: three anchors (left, centre,
right) from their own z, style mixing per anchor (cutoff from mix_z onward, cutoff = num_ws: none),
δ per sample, noise maps given; the centre mapping of every phase updates w_avg (β 0.995).

CREPS (creps.md §5, StyleGAN3's loop, which CREPS forks) runs the same phases on a tiny CREPS
(creps_reference.py, the training grid linspace(0, 1, R) on both axes) with lr 0.002, no style mixing (the
creps config), and w_avg tracked (β 0.998) in the G phases only (CREPS's mapping updates it when
update_emas is False, the reverse of StyleGAN3's). One deliberate difference from StyleGAN3's code: its
backward calls lack SG2-ADA's `·0` terms, so whether a parameter whose gradient in a regularisation phase is
exactly zero gets a zero tensor (and an Adam step) or None (no step) depends on how torch's autograd saved
the forward's tensors (F.leaky_relu and clamp save their input, torch.where does not; the CUDA bias_act
plugin differs again). Here, as in pixsyn, every parameter of the forward gets a gradient in every phase,
the SG2-ADA rule: the weights agree; only Adam's step count and second moment of such parameters may
differ from a given torch build's.

Keys: g.<key>, d.<key> (initial); fixture.<i>.reals; fixture.<i>.<phase>.{z, mix_z, cutoff, delta,
noise.<k>} for phase in gmain, greg (iteration 0 only), dmain; fixture.<i>.pl_noise (the N(0,1) draws
before the 1/√(HW) scale); fixture.<i>.{loss_g, loss_d, r1, pl, pl_mean} ((1,), NaN when not due);
after.g.<key>, after.d.<key>, after.g_ema.<key>.
"""

import math
import os
import sys
from collections import OrderedDict

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import alis_reference as aref  # noqa: E402
import creps_reference as cref  # noqa: E402
import discriminator_reference as dref  # noqa: E402
from safetensors_io import save_file  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
D64 = torch.float64
BATCH = 4
ITERATIONS = 2
START_NIMG = 2000
R1_GAMMA = 10.0
PL_WEIGHT, PL_DECAY, PL_SHRINK = 2.0, 0.01, 2
G_REG, D_REG = 4, 16
MIXING = 0.9

ALIS_CFG = aref.default_config(size=8, z_dim=8, w_dim=8, mapping_layers=2, channel_base=32, channel_max=8)
ALIS_D_CFG = dict(size=8, img_channels=3, channel_base=32, channel_max=8, conv_clamp=256.0, mbstd_group=4,
                  mbstd_channels=1)
ALIS_LR = 0.0025
W_AVG_BETA_ALIS = 0.995


def lazy(lr, k):
    r = k / (k + 1)
    return dict(lr=lr * r, betas=(0.0, 0.99 ** r))


def softplus(x):
    return F.softplus(x)


class AlisFamily:
    name = "alis"
    cfg = ALIS_CFG
    d_cfg = ALIS_D_CFG
    lr = ALIS_LR

    def __init__(self, gen):
        self.n = aref.num_ws(self.cfg)
        self.conv_sides = aref.conv_resolutions(self.cfg)
        self.g0 = aref.random_state_dict(self.cfg, gen, dtype=D64)
        self.g0["mapping.w_avg"] = torch.zeros_like(self.g0["mapping.w_avg"])

    def is_parameter(self, key):
        leaf = key.rsplit(".", 1)[1]
        return key != "mapping.w_avg" and key != "synthesis.max_shift_strength" and leaf not in (
            "resample_filter", "basis", "noise_const")

    def draw(self, gen, batch):
        cfg, n = self.cfg, self.n
        d = OrderedDict()
        d["z"] = torch.randn(batch, 3, cfg["z_dim"], generator=gen, dtype=D64)
        d["mix_z"] = torch.randn(batch, 3, cfg["z_dim"], generator=gen, dtype=D64)
        cut = []
        for _ in range(3):
            c = int(torch.randint(1, n, (), generator=gen))
            cut.append(c if float(torch.rand((), generator=gen)) < MIXING else n)
        d["cutoff"] = torch.tensor(cut, dtype=D64)
        high = cfg["anchor_distance"] * cfg["patches"] - cfg["patches"]  # randint's exclusive bound
        d["delta"] = torch.randint(0, high, (batch,), generator=gen).to(D64)
        for k, r in enumerate(self.conv_sides):
            d["noise.%d" % k] = torch.randn(batch, 1, r, r, generator=gen, dtype=D64)
        return d

    def run(self, g, d, phase):
        """-> (images, centre ws); the centre mapping updates w_avg in every phase."""
        track = True
        cfg, n = self.cfg, self.n
        anchors = []
        centre = None
        for a in range(3):
            w = aref.mapping(g, cfg, d["z"][:, a])
            if a == 1 and track:
                with torch.no_grad():
                    g["mapping.w_avg"].copy_(w.detach().mean(0).lerp(g["mapping.w_avg"], W_AVG_BETA_ALIS))
            ws = w.unsqueeze(1).repeat(1, n, 1)
            c = int(d["cutoff"][a])
            if c < n:
                mix = aref.mapping(g, cfg, d["mix_z"][:, a]).unsqueeze(1).repeat(1, n, 1)
                ws = torch.cat([ws[:, :c], mix[:, c:]], 1)
            if a == 1:
                centre = ws
            anchors.append(ws)
        noise = [d["noise.%d" % k] for k in range(len(self.conv_sides))]
        delta = d["delta"].long()
        img = aref.synthesis(g, cfg, torch.stack(anchors, 1), delta, noise=noise)
        return img, centre

    def discriminator(self, dsd, x):
        return dref.sg2_forward(dsd, self.d_cfg, x)

    def after_step(self, g, cur_nimg):
        g["synthesis.max_shift_strength"].fill_(min(int(cur_nimg / 1e3) / 1.0, 1.0))


def train(family, seed):
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(seed)
    g0 = family.g0
    d0 = dref.random_state_dict(dref.sg2_shapes(family.d_cfg), gen)
    g = OrderedDict((k, v.clone().requires_grad_(family.is_parameter(k))) for k, v in g0.items())
    d = OrderedDict((k, v.clone().requires_grad_(not k.endswith("resample_filter"))) for k, v in d0.items())
    g_ema = OrderedDict((k, v.clone()) for k, v in g0.items())
    g_params = [v for v in g.values() if v.requires_grad]
    d_params = [v for v in d.values() if v.requires_grad]
    g_opt = torch.optim.Adam(g_params, eps=1e-8, **lazy(family.lr, G_REG))
    d_opt = torch.optim.Adam(d_params, eps=1e-8, **lazy(family.lr, D_REG))
    disc = lambda x: family.discriminator(d, x)  # noqa: E731
    pl_mean = torch.zeros([], dtype=D64)
    size = family.cfg["size"]

    out = OrderedDict()
    for k, v in g0.items():
        out["g." + k] = v
    for k, v in d0.items():
        out["d." + k] = v
    cur_nimg = START_NIMG
    for i in range(ITERATIONS):
        p = "fixture.%d." % i
        reals = torch.randn(BATCH, 3, size, size, generator=gen, dtype=D64)
        out[p + "reals"] = reals
        draws = {"gmain": family.draw(gen, BATCH), "dmain": family.draw(gen, BATCH)}
        if i % G_REG == 0:
            draws["greg"] = family.draw(gen, BATCH // PL_SHRINK)
        for phase, dr in draws.items():
            for k, v in dr.items():
                out[p + phase + "." + k] = v
        nan = float("nan")
        loss_pl, r1 = nan, nan

        g_opt.zero_grad(set_to_none=True)
        img, _ = family.run(g, draws["gmain"], "gmain")
        loss_g = softplus(-disc(img)).mean()
        loss_g.backward()
        g_opt.step()

        if i % G_REG == 0:
            g_opt.zero_grad(set_to_none=True)
            img, ws = family.run(g, draws["greg"], "greg")
            noise = torch.randn(img.shape, generator=gen, dtype=D64)
            out[p + "pl_noise"] = noise
            (grads,) = torch.autograd.grad((img * noise / math.sqrt(size * size)).sum(), ws, create_graph=True)
            lengths = grads.square().sum(2).mean(1).sqrt()
            new_mean = pl_mean.lerp(lengths.mean(), PL_DECAY)
            pl_mean = new_mean.detach()
            penalty = (lengths - new_mean).square()
            family.pl_backward(img, penalty * PL_WEIGHT, G_REG)
            g_opt.step()
            loss_pl = penalty.mean().item()

        d_opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            fake, _ = family.run(g, draws["dmain"], "dmain")
        loss_dgen = softplus(disc(fake)).mean()
        loss_dgen.backward()
        real_logits = disc(reals)
        loss_dreal = softplus(-real_logits)
        family.d_backward(real_logits, loss_dreal, 1)
        d_opt.step()
        loss_d = loss_dgen.item() + loss_dreal.mean().item()

        if i % D_REG == 0:
            d_opt.zero_grad(set_to_none=True)
            real = reals.clone().requires_grad_(True)
            logits = disc(real)
            (grads,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
            penalty = grads.square().sum([1, 2, 3])
            family.d_backward(logits, penalty * (R1_GAMMA / 2), D_REG)
            d_opt.step()
            r1 = penalty.mean().item()

        family.after_step(g, cur_nimg)
        ema_nimg = min(BATCH * 10 / 32 * 1000, cur_nimg * 0.05)
        beta = 0.5 ** (BATCH / max(ema_nimg, 1e-8))
        with torch.no_grad():
            for k in g_ema:
                if g[k].requires_grad:
                    g_ema[k].copy_(g[k].lerp(g_ema[k], beta))
                else:
                    g_ema[k].copy_(g[k])
        cur_nimg += BATCH

        for key, value in (("loss_g", loss_g.item()), ("loss_d", loss_d), ("r1", r1), ("pl", loss_pl),
                           ("pl_mean", pl_mean.item())):
            out[p + key] = torch.tensor([value], dtype=D64)
        print("%s iteration %d: loss_g %.6f loss_d %.6f r1 %.6g pl %.6g pl_mean %.6g ema beta %.6f" %
              (family.name, i, loss_g.item(), loss_d, r1, loss_pl, pl_mean.item(), beta))

    for k, v in g.items():
        out["after.g." + k] = v.detach()
    for k, v in d.items():
        out["after.d." + k] = v.detach()
    for k, v in g_ema.items():
        out["after.g_ema." + k] = v
    moved = max((out["after.g." + k] - g0[k]).abs().max().item() for k in g0)
    print("largest G change: %.3g" % moved)
    path = os.path.join(ROOT, "tests", "fixtures", "train", family.name + "_step.safetensors")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file(out, path, metadata={"iterations": str(ITERATIONS), "batch": str(BATCH),
                                   "start_nimg": str(START_NIMG)})
    print("wrote", path, os.path.getsize(path), "bytes")


# SG2-ADA's backward calls with its `·0` terms, which give every parameter of the forward a gradient
# (zeros where the loss does not depend on it), so Adam steps all of them.
def sg2ada_pl_backward(img, loss, gain):
    (img[:, 0, 0, 0] * 0 + loss).mean().mul(gain).backward()


def sg2ada_d_backward(logits, loss, gain):
    (logits * 0 + loss).mean().mul(gain).backward()


AlisFamily.pl_backward = staticmethod(sg2ada_pl_backward)
AlisFamily.d_backward = staticmethod(sg2ada_d_backward)


CREPS_CFG = cref.default_config(size=8, z_dim=8, w_dim=8, mapping_layers=2, channel_base=64, channel_max=16,
                                biline_channels=4, thickness=2)
CREPS_D_CFG = dict(size=8, img_channels=3, channel_base=32, channel_max=8, conv_clamp=256.0, mbstd_group=4,
                   mbstd_channels=1)


def phases_float64(t, f):
    """creps_reference forms the Fourier phases in float32, as the official code does; pixsyn forms them in
    its value type, so this double-precision step forms them in float64 (the float32 rounding is compared by
    the CREPS forward fixtures)."""
    theta = t.double().reshape(-1, 1) * f.double().reshape(1, -1) * (2 * math.pi)
    return theta, theta + math.pi / 2


class CrepsFamily:
    name = "creps"
    cfg = CREPS_CFG
    d_cfg = CREPS_D_CFG
    lr = 0.002
    pl_backward = staticmethod(sg2ada_pl_backward)
    d_backward = staticmethod(sg2ada_d_backward)

    def __init__(self, gen):
        cref.phases = phases_float64
        self.n = cref.num_ws(self.cfg)
        self.g0 = cref.random_state_dict(self.cfg, gen, dtype=D64)
        self.g0["mapping.w_avg"] = torch.zeros_like(self.g0["mapping.w_avg"])
        size = self.cfg["size"]
        self.axis = torch.linspace(0, 1, size, dtype=D64)

    def is_parameter(self, key):
        return key not in cref.BUFFERS

    def draw(self, gen, batch):
        d = OrderedDict()
        d["z"] = torch.randn(batch, self.cfg["z_dim"], generator=gen, dtype=D64)
        return d

    def run(self, g, d, phase):
        w = cref.mapping(g, self.cfg, d["z"])
        if phase != "dmain":  # CREPS's mapping tracks w_avg when update_emas is False: the G phases
            with torch.no_grad():
                g["mapping.w_avg"].copy_(w.detach().mean(0).lerp(g["mapping.w_avg"], 0.998))
        ws = w.unsqueeze(1).repeat(1, self.n, 1)
        return cref.synthesis(g, self.cfg, ws, self.axis, self.axis), ws

    def discriminator(self, dsd, x):
        return dref.sg2_forward(dsd, self.d_cfg, x)

    def after_step(self, g, cur_nimg):
        pass


def main():
    train(AlisFamily(torch.Generator().manual_seed(41)), 42)
    train(CrepsFamily(torch.Generator().manual_seed(43)), 44)


if __name__ == "__main__":
    main()
