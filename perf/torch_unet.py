#!/usr/bin/env python3
"""perf/torch_unet.py — the U-Net training step of perf/bench_train.c in PyTorch (fp32, TF32 off),
printing JSON in bench_train's layout so both can be read side by side (bench_train --torch runs
this script and prints the two together).

The model is medcl's medcl_unet_build (nnU-Net's PlainConvUNet): stage s has min(base * 2^s, max)
features and convs_per_stage blocks of conv 3 (bias) + InstanceNorm (affine, eps 1e-5) +
LeakyReLU(0.01), the first block strided by 2 for s > 0; the decoder is a transposed conv 2/2,
concat (up, skip) and convs_per_stage blocks; 1x1 segmentation heads on every decoder stage with
deep supervision (weights 1/2^i, the coarsest 0, normalized; targets down-sampled with
'nearest-exact' as nnU-Net v2). Loss: nnU-Net Dice (MemoryEfficientSoftDiceLoss, no background,
smooth 1e-5) + CE. Optimizer: SGD, lr 1e-2, Nesterov momentum 0.99, weight decay 3e-5, gradient
norm clipped at 12. He-normal initialization (neg_slope 1e-2), zero biases.

A step: zero_grad, forward, loss, backward, clip, SGD step, loss.item() (one synchronization);
median of --steps steps after --warmup, synchronized. Peak memory: torch.cuda.max_memory_allocated
on CUDA; on the CPU the growth of the process's peak resident set over the steps plus the
parameters' bytes (approximate).

  python3 perf/torch_unet.py --dims 2 --size 64 --batch 4 --base 8 --max 64 --levels 5 [--device cpu]
"""
import argparse
import datetime
import json
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class UNet(nn.Module):
    def __init__(self, dims, cin, classes, levels, base, fmax, convs, ds):
        super().__init__()
        Conv = nn.Conv2d if dims == 2 else nn.Conv3d
        ConvT = nn.ConvTranspose2d if dims == 2 else nn.ConvTranspose3d
        Norm = nn.InstanceNorm2d if dims == 2 else nn.InstanceNorm3d
        self.f = [min(base << s, fmax) for s in range(levels)]
        self.ds = ds

        def block(ci, co, stride):
            return [Conv(ci, co, 3, stride=stride, padding=1, bias=True), Norm(co, eps=1e-5, affine=True),
                    nn.LeakyReLU(0.01, inplace=True)]

        self.enc = nn.ModuleList()
        c = cin
        for s in range(levels):
            layers = block(c, self.f[s], 2 if s else 1)
            for _ in range(1, convs):
                layers += block(self.f[s], self.f[s], 1)
            self.enc.append(nn.Sequential(*layers))
            c = self.f[s]
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        self.seg = nn.ModuleList()
        for s in range(levels - 2, -1, -1):
            self.up.append(ConvT(self.f[s + 1], self.f[s], 2, stride=2, bias=True))
            layers = block(2 * self.f[s], self.f[s], 1)
            for _ in range(1, convs):
                layers += block(self.f[s], self.f[s], 1)
            self.dec.append(nn.Sequential(*layers))
            self.seg.append(Conv(self.f[s], classes, 1, bias=True) if (ds or s == 0) else None)
        for m in self.modules():  # nnU-Net InitWeights_He(1e-2)
            if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
                nn.init.kaiming_normal_(m.weight, a=1e-2)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        skips = []
        for e in self.enc:
            x = e(x)
            skips.append(x)
        x = skips[-1]
        outs = []
        n = len(self.up)
        for i in range(n):
            x = self.up[i](x)
            x = torch.cat((x, skips[-(i + 2)]), 1)
            x = self.dec[i](x)
            if self.seg[i] is not None:
                outs.append(self.seg[i](x))
        return outs[::-1]  # full resolution first


def dice_nnunet(x, y_onehot):
    """MemoryEfficientSoftDiceLoss(apply_nonlin=softmax, batch_dice=False, do_bg=False, smooth=1e-5)"""
    x = torch.softmax(x, 1)[:, 1:]
    y = y_onehot[:, 1:]
    axes = tuple(range(2, x.ndim))
    inter = (x * y).sum(axes)
    pred = x.sum(axes)
    gt = y.sum(axes)
    dc = (2 * inter + 1e-5) / torch.clip(gt + pred + 1e-5, 1e-8)
    return -dc.mean()


def dice_ce(x, y):
    onehot = torch.zeros_like(x).scatter_(1, y.long(), 1)
    return F.cross_entropy(x, y[:, 0].long()) + dice_nnunet(x, onehot)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dims", type=int, default=2)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--base", type=int, default=8)
    ap.add_argument("--max", type=int, default=64)
    ap.add_argument("--levels", type=int, default=5)
    ap.add_argument("--convs", type=int, default=2)
    ap.add_argument("--classes", type=int, default=2)
    ap.add_argument("--no-ds", action="store_true")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    dev = torch.device(a.device)
    ds = not a.no_ds
    net = UNet(a.dims, 1, a.classes, a.levels, a.base, a.max, a.convs, ds).to(dev)
    params = sum(p.numel() for p in net.parameters())
    nheads = a.levels - 1 if ds else 1
    w = [0.0 if (nheads > 1 and i == nheads - 1) else 1.0 / (1 << i) for i in range(nheads)]
    w = [v / sum(w) for v in w]
    opt = torch.optim.SGD(net.parameters(), lr=1e-2, momentum=0.99, nesterov=True, weight_decay=3e-5)
    shape = (a.batch, 1) + (a.size,) * a.dims
    g = torch.Generator().manual_seed(1)
    batches = []
    for _ in range(2):  # two batches, alternated: bright blobs on noise
        img = torch.randn(shape, generator=g) * 0.3
        lab = (torch.rand(shape, generator=g) > 0.7).to(torch.int32)
        img += lab.float()
        batches.append((img.to(dev), lab.to(dev)))

    def step(k):
        img, lab = batches[k % 2]
        opt.zero_grad(set_to_none=True)
        outs = net(img)
        loss = 0.0
        for i, o in enumerate(outs):
            if w[i] == 0.0:
                continue
            t = lab if i == 0 else F.interpolate(lab.float(), size=o.shape[2:], mode="nearest-exact").to(lab.dtype)
            loss = loss + w[i] * dice_ce(o, t)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 12.0)
        opt.step()
        return loss.item()

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def rss_now():
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * resource.getpagesize()
        except OSError:
            return 0

    rss_before = rss_now()
    losses = []
    for k in range(a.warmup):
        losses.append(step(k))
    sync()
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    ts = []
    for k in range(a.steps):
        t0 = time.perf_counter()
        losses.append(step(a.warmup + k))
        sync()
        ts.append(time.perf_counter() - t0)
    med = statistics.median(ts)
    if dev.type == "cuda":
        peak = torch.cuda.max_memory_allocated(dev)
        peak_kind = "torch.cuda.max_memory_allocated"
        name = torch.cuda.get_device_name(dev)
    else:
        # the process's peak resident set counts the framework itself (hundreds of MB): report
        # its growth over the steps plus the parameters, the closest CPU analogue of the
        # device allocator's peak (approximate: the allocator may keep freed memory)
        pbytes = sum(p.numel() * p.element_size() for p in net.parameters())
        peak = max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before) + pbytes
        peak_kind = "CPU: peak RSS growth over the steps + parameters"
        name = "cpu (%d threads)" % torch.get_num_threads()
    out = {"bench": "train", "framework": "pytorch " + torch.__version__, "device": name,
           "date": datetime.date.today().isoformat(), "results": [{
               "model": "unet%dd" % a.dims, "dims": a.dims, "size": a.size, "batch": a.batch, "levels": a.levels,
               "base_features": a.base, "max_features": a.max, "deep_supervision": ds, "params": params,
               "steps": a.steps, "median_ms": med * 1e3, "min_ms": min(ts) * 1e3, "max_ms": max(ts) * 1e3,
               "images_per_s": a.batch / med, "peak_bytes": peak, "peak_kind": peak_kind,
               "first_loss": losses[0], "last_loss": losses[-1]}]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
