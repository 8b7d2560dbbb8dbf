"""TEMPORARY (not to be committed)."""
import gc, statistics, time, datetime
from decimal import Decimal
from django.db.models import OuterRef, Subquery, Sum, Value, DecimalField
from django.db.models.functions import Coalesce
from django.db import connection
from django.test.utils import CaptureQueriesContext
from saleor.checkout.models import Checkout, CheckoutLine
from saleor.product.models import ProductMedia
from saleor.giftcard.models import GiftCard
from saleor.core.utils import build_absolute_uri
from saleor_optty.plugin import saleor_compat as sc
from saleor_optty.core.payload import Cart, CartLine, optty_locale
from saleor_optty.optty.types import Customer

def _first_media(media):
    ordered = media.order_by("sort_order", "pk")
    return Subquery(ordered.values("image")[:1]), Subquery(ordered.values("external_url")[:1]), Subquery(ordered.values("pk")[:1])

def checkout_b(token):
    vi, ve, vp = _first_media(ProductMedia.objects.filter(variant_media__variant=OuterRef("variant_id")))
    pi, pe, pp = _first_media(ProductMedia.objects.filter(product=OuterRef("variant__product_id")))
    lines = CheckoutLine.objects.select_related("variant__product").only(
        "checkout_id", "quantity", "undiscounted_unit_price_amount", "tax_rate", "total_price_net_amount", "total_price_gross_amount",
        "variant__name", "variant__sku", "variant__product__name",
    ).annotate(v_image=vi, v_url=ve, v_media=vp, p_image=pi, p_url=pe, p_media=pp)
    today = datetime.datetime.now(tz=datetime.UTC).date()
    cards = GiftCard.objects.active(date=today).filter(checkouts=OuterRef("pk")).order_by().values("checkouts").annotate(total=Sum("current_balance_amount")).values("total")
    from django.db.models import Prefetch
    return (
        Checkout.objects.select_related("user", "billing_address", "shipping_address", "channel__tax_configuration")
        .annotate(gift_cards_balance=Subquery(cards))
        .prefetch_related(Prefetch("lines", queryset=lines))
        .filter(pk=token).first()
    )

def _url(image, url, media_pk):
    if media_pk is None:
        return None
    if image:
        return build_absolute_uri(ProductMedia._meta.get_field("image").storage.url(image))
    return url or None

def cart_b(token, customer_email):
    checkout = checkout_b(token)
    prices_include_tax = checkout.channel.tax_configuration.prices_entered_with_tax
    cart_lines = []
    for line in checkout.lines.all():
        undiscounted = line.undiscounted_unit_price_amount * line.quantity
        if prices_include_tax and line.tax_rate:
            undiscounted = undiscounted / (1 + line.tax_rate)
        image = _url(line.v_image, line.v_url, line.v_media) if line.v_media is not None else _url(line.p_image, line.p_url, line.p_media)
        cart_lines.append(CartLine(name=sc._line_name(line.variant), quantity=line.quantity,
            undiscounted_total_net=max(undiscounted, line.total_price_net_amount), total_net=line.total_price_net_amount,
            total_gross=line.total_price_gross_amount, sku=line.variant.sku or None, image_url=image))
    billing = checkout.billing_address; shipping = checkout.shipping_address
    email = customer_email or checkout.get_customer_email() or ""
    return Cart(currency=checkout.currency, country=billing.country.code, locale=optty_locale(checkout.language_code, billing.country.code),
        lines=tuple(cart_lines), shipping_net=checkout.shipping_price_net_amount, shipping_gross=checkout.shipping_price_gross_amount,
        total_net=checkout.total_net_amount, total_gross=checkout.total_gross_amount,
        gift_card_amount=checkout.gift_cards_balance or Decimal(0) if checkout.gift_cards_balance is not None else Decimal("0"),
        customer=Customer(first_name=billing.first_name, last_name=billing.last_name, email=email, phone_number=str(billing.phone or "") or None),
        billing_address=sc._address(billing, email), shipping_address=sc._address(shipping, email) if shipping else None)

def test_cart(storefront, optty, bench_plugins):
    token = storefront.checkout.pk
    a = sc.cart_from_checkout(token, customer_email=None); b = cart_b(token, None)
    out = [repr(a), repr(b), f"equal: {a == b}"]
    with CaptureQueriesContext(connection) as qa: sc.cart_from_checkout(token, customer_email=None)
    with CaptureQueriesContext(connection) as qb: cart_b(token, None)
    out.append(f"queries a {len(qa)} b {len(qb)}")
    out.append(qb.captured_queries[1]["sql"])
    ta, tb = [], []
    for r in range(40):
        for name, fn, acc in (("a", lambda: sc.cart_from_checkout(token, customer_email=None), ta), ("b", lambda: cart_b(token, None), tb))[:: 1 if r % 2 else -1]:
            gc.collect(); t = time.process_time()
            for _ in range(20): fn()
            acc.append((time.process_time() - t) / 20)
    out.append(f"a {statistics.median(ta)*1000:.2f} ms  b {statistics.median(tb)*1000:.2f} ms")
    open("/tmp/prof/cart.txt", "w").write("\n".join(out))

def test_cart_profile(storefront, optty, bench_plugins):
    import cProfile, pstats, io
    token = storefront.checkout.pk
    for _ in range(20): sc.cart_from_checkout(token, customer_email=None)
    p = cProfile.Profile(time.process_time); p.enable()
    for _ in range(200): sc.cart_from_checkout(token, customer_email=None)
    p.disable()
    s = io.StringIO(); pstats.Stats(p, stream=s).sort_stats("cumulative").print_stats(45)
    s2 = io.StringIO(); pstats.Stats(p, stream=s2).sort_stats("tottime").print_stats(30)
    open("/tmp/prof/cartprof.txt", "w").write(s.getvalue() + s2.getvalue())

from django.db.models import Prefetch
ADDRESS = ("first_name", "last_name", "street_address_1", "street_address_2", "city", "country_area", "postal_code", "country", "phone")

def checkout_c(token):
    media = ProductMedia.objects.only("image", "external_url", "sort_order", "product_id")
    lines = CheckoutLine.objects.select_related("variant__product").only(
        "checkout_id", "quantity", "undiscounted_unit_price_amount", "tax_rate", "total_price_net_amount", "total_price_gross_amount",
        "variant__name", "variant__sku", "variant__product__name",
    ).prefetch_related(Prefetch("variant__media", queryset=media), Prefetch("variant__product__media", queryset=media))
    return (
        Checkout.objects.select_related("user", "billing_address", "shipping_address", "channel__tax_configuration")
        .only("currency", "language_code", "email", "shipping_price_net_amount", "shipping_price_gross_amount", "total_net_amount",
              "total_gross_amount", "user__email", "channel__tax_configuration__prices_entered_with_tax",
              *(f"billing_address__{f}" for f in ADDRESS), *(f"shipping_address__{f}" for f in ADDRESS))
        .prefetch_related(Prefetch("lines", queryset=lines))
        .filter(pk=token).first()
    )

def test_cart_c(storefront, optty, bench_plugins, monkeypatch):
    token = storefront.checkout.pk
    a = sc.cart_from_checkout(token, customer_email=None)
    out = []
    def run_c():
        return sc.cart_from_checkout(token, customer_email=None)
    # C: patch the reader
    orig = sc._checkout_for_cart
    with CaptureQueriesContext(connection) as qc:
        monkeypatch.setattr(sc, "_checkout_for_cart", checkout_c); c = run_c(); monkeypatch.setattr(sc, "_checkout_for_cart", orig)
    out.append(f"equal {a == c}; queries c {len(qc)}")
    for q in qc.captured_queries: out.append(q["sql"][:300])
    ta, tc = [], []
    for r in range(40):
        for impl, acc in ((orig, ta), (checkout_c, tc))[:: 1 if r % 2 else -1]:
            monkeypatch.setattr(sc, "_checkout_for_cart", impl)
            gc.collect(); t = time.process_time()
            for _ in range(20): run_c()
            acc.append((time.process_time() - t) / 20)
    monkeypatch.setattr(sc, "_checkout_for_cart", orig)
    out.append(f"a {statistics.median(ta)*1000:.2f} ms  c {statistics.median(tc)*1000:.2f} ms")
    open("/tmp/prof/cartc.txt", "w").write("\n".join(out))
