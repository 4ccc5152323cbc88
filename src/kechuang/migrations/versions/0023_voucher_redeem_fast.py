"""one round trip per voucher redemption on PostgreSQL (issue 10, item 1)

``kechuang_voucher_redeem`` does a whole redemption in one statement, inside the caller's
transaction (it never commits; the caller's unit of work does, so the budget's lock is held
to the commit):

1. the provider: for a provider's own account, its registered provider row must be the one
   named (``not_registered`` / ``not_own``); suspended providers are refused;
2. the voucher by code, joined to its holder, whose credit code must match (``no_match``);
   a provider may not redeem its own voucher (``own``); the service must be the provider's
   and active (``bad_service``); an expired voucher is refused (``expired``);
3. the budget row ``FOR UPDATE`` — from here on every redemption of the budget waits; each
   statement of a PL/pgSQL function takes a new snapshot under READ COMMITTED, so what
   follows sees what the previous lock holder committed;
4. an existing redemption of the voucher (``redeemed``, with its id: the caller tells a
   retried request from a second one) or of the invoice (``invoice_used``);
5. the amount: invoice × covered share, floored to 分, capped at the face value (the same
   rule as :func:`kechuang.vouchers.engine.redeem_amount`; a test on both backends keeps
   them equal), refused when that is less than one 分 (``too_small``), computed before the
   lock; more than what is left of the budget is refused (``overspend``, with what is left);
6. the redemption, the append-only ledger entry (kind ``voucher_settlement``, idempotency
   key ``voucher:<code>``, ``balance_after`` what is left after it) and the two audit rows
   (``vouchers.redeem`` and ``ledger.pay``, as the Python path writes them).

Nothing is written unless the status is ``ok``. SQLite runs the same steps in Python under
``BEGIN IMMEDIATE`` (:func:`kechuang.vouchers.repository.redeem`); there is nothing to
install there.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 04:20:00
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

_REDEEM = """
CREATE OR REPLACE FUNCTION kechuang_voucher_redeem(
    p_code text, p_uscc text, p_provider_id integer, p_owner_kind text, p_owner_id integer,
    p_service_id integer, p_invoice_no text, p_invoice_amount numeric, p_today date,
    p_user_id integer, p_actor text, p_at timestamptz, p_ip text)
RETURNS TABLE (r_status text, r_provider_name text, r_voucher_id integer,
               r_valid_until date, r_redemption_id integer, r_amount numeric,
               r_left numeric, r_entry_id bigint, r_budget_key text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  p record;
  v record;
  b record;
  v_id integer;
  v_left numeric;
  v_amount numeric;
  v_key text;
  v_entry bigint;
BEGIN
  IF p_owner_kind = 'institute' THEN
    SELECT vp.id, vp.name, vp.active, vp.enterprise_id INTO p
      FROM voucher_provider vp WHERE vp.institute_id = p_owner_id;
  ELSIF p_owner_kind = 'enterprise' THEN
    SELECT vp.id, vp.name, vp.active, vp.enterprise_id INTO p
      FROM voucher_provider vp WHERE vp.enterprise_id = p_owner_id;
  ELSE
    SELECT vp.id, vp.name, vp.active, vp.enterprise_id INTO p
      FROM voucher_provider vp WHERE vp.id = p_provider_id;
  END IF;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_registered'::text, NULL::text, NULL::integer, NULL::date,
      NULL::integer, NULL::numeric, NULL::numeric, NULL::bigint, NULL::text;
    RETURN;
  END IF;
  IF p.id <> p_provider_id THEN
    RETURN QUERY SELECT 'not_own'::text, p.name::text, NULL::integer, NULL::date,
      NULL::integer, NULL::numeric, NULL::numeric, NULL::bigint, NULL::text;
    RETURN;
  END IF;
  IF NOT p.active THEN
    RETURN QUERY SELECT 'suspended'::text, p.name::text, NULL::integer, NULL::date,
      NULL::integer, NULL::numeric, NULL::numeric, NULL::bigint, NULL::text;
    RETURN;
  END IF;
  SELECT vo.id, vo.enterprise_id, vo.budget_key, vo.amount, vo.cover_share, vo.valid_until,
         vo.region_code, e.uscc INTO v
    FROM voucher vo JOIN enterprise e ON e.id = vo.enterprise_id WHERE vo.code = p_code;
  IF NOT FOUND OR v.uscc IS DISTINCT FROM p_uscc THEN
    RETURN QUERY SELECT 'no_match'::text, p.name::text, NULL::integer, NULL::date,
      NULL::integer, NULL::numeric, NULL::numeric, NULL::bigint, NULL::text;
    RETURN;
  END IF;
  IF p.enterprise_id IS NOT NULL AND p.enterprise_id = v.enterprise_id THEN
    RETURN QUERY SELECT 'own'::text, p.name::text, v.id, NULL::date,
      NULL::integer, NULL::numeric, NULL::numeric, NULL::bigint, NULL::text;
    RETURN;
  END IF;
  IF p_service_id IS NOT NULL AND NOT EXISTS (
      SELECT 1 FROM voucher_service s
       WHERE s.id = p_service_id AND s.provider_id = p.id AND s.active) THEN
    RETURN QUERY SELECT 'bad_service'::text, p.name::text, v.id, NULL::date,
      NULL::integer, NULL::numeric, NULL::numeric, NULL::bigint, NULL::text;
    RETURN;
  END IF;
  IF p_today > v.valid_until THEN
    RETURN QUERY SELECT 'expired'::text, p.name::text, v.id, v.valid_until,
      NULL::integer, NULL::numeric, NULL::numeric, NULL::bigint, NULL::text;
    RETURN;
  END IF;
  v_amount := round(least(floor(p_invoice_amount * v.cover_share * 100) / 100, v.amount), 2);
  IF v_amount <= 0 THEN
    RETURN QUERY SELECT 'too_small'::text, p.name::text, v.id, v.valid_until,
      NULL::integer, v_amount, NULL::numeric, NULL::bigint, NULL::text;
    RETURN;
  END IF;
  SELECT lb.id, lb.key, lb.region_code, lb.amount INTO b
    FROM ledger_budget lb WHERE lb.key = v.budget_key FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'no_budget'::text, p.name::text, v.id, v.valid_until,
      NULL::integer, NULL::numeric, NULL::numeric, NULL::bigint, v.budget_key::text;
    RETURN;
  END IF;
  SELECT r.id INTO v_id FROM voucher_redemption r WHERE r.voucher_id = v.id;
  IF FOUND THEN
    RETURN QUERY SELECT 'redeemed'::text, p.name::text, v.id, v.valid_until,
      v_id, NULL::numeric, NULL::numeric, NULL::bigint, b.key::text;
    RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM voucher_redemption r
              WHERE r.provider_id = p.id AND r.invoice_no = p_invoice_no) THEN
    RETURN QUERY SELECT 'invoice_used'::text, p.name::text, v.id, v.valid_until,
      NULL::integer, NULL::numeric, NULL::numeric, NULL::bigint, b.key::text;
    RETURN;
  END IF;
  v_key := 'voucher:' || p_code;
  IF EXISTS (SELECT 1 FROM ledger_entry le WHERE le.idempotency_key = v_key) THEN
    RETURN QUERY SELECT 'redeemed'::text, p.name::text, v.id, v.valid_until,
      NULL::integer, NULL::numeric, NULL::numeric, NULL::bigint, b.key::text;
    RETURN;
  END IF;
  SELECT le.balance_after INTO v_left FROM ledger_entry le
    WHERE le.budget_id = b.id ORDER BY le.id DESC LIMIT 1;
  v_left := coalesce(v_left, b.amount);
  IF v_left < v_amount THEN
    RETURN QUERY SELECT 'overspend'::text, p.name::text, v.id, v.valid_until,
      NULL::integer, v_amount, v_left, NULL::bigint, b.key::text;
    RETURN;
  END IF;
  INSERT INTO voucher_redemption (voucher_id, provider_id, service_id, invoice_no,
                                  invoice_amount, amount, payment_key, settlement_id,
                                  redeemed_by, actor, redeemed_at)
  VALUES (v.id, p.id, p_service_id, p_invoice_no, p_invoice_amount, v_amount, v_key, NULL,
          p_user_id, p_actor, p_at)
  ON CONFLICT DO NOTHING
  RETURNING id INTO v_id;
  IF v_id IS NULL THEN  -- a concurrent redemption of the same voucher or invoice committed
    RETURN QUERY SELECT 'redeemed'::text, p.name::text, v.id, v.valid_until,
      NULL::integer, NULL::numeric, NULL::numeric, NULL::bigint, b.key::text;
    RETURN;
  END IF;
  INSERT INTO ledger_entry (budget_id, entry_type, kind, payee_type, payee_id, payee_name,
                            amount, delta, balance_after, decision_ref, idempotency_key,
                            reverses_id, memo, created_by, actor, created_at)
  VALUES (b.id, 'payment', 'voucher_settlement', 'provider', p.id, p.name, v_amount,
          -v_amount, v_left - v_amount, v_key, v_key, NULL,
          format('发票 %s，金额 %s，抵扣比例 %s', p_invoice_no, p_invoice_amount,
                 trim_scale(v.cover_share)),
          p_user_id, p_actor, p_at)
  RETURNING id INTO v_entry;
  INSERT INTO audit_event (at, actor_id, actor, action, object_type, object_id, region_code,
                           before, after, ip)
  VALUES (p_at, p_user_id, p_actor, 'vouchers.redeem', 'voucher', v.id::text, v.region_code,
          NULL, json_build_object('code', p_code, 'provider_id', p.id,
                                  'invoice_no', p_invoice_no,
                                  'invoice_amount', p_invoice_amount::text,
                                  'amount', v_amount::text, 'payment_key', v_key),
          p_ip),
         (p_at, p_user_id, p_actor, 'ledger.pay', 'ledger_entry', v_entry::text,
          b.region_code, NULL,
          json_build_object('budget', b.key, 'kind', 'voucher_settlement',
                            'payee', p.name, 'payee_type', 'provider', 'payee_id', p.id,
                            'amount', v_amount::text, 'decision_ref', v_key,
                            'balance_after', trim_scale(v_left - v_amount)::text),
          p_ip);
  RETURN QUERY SELECT 'ok'::text, p.name::text, v.id, v.valid_until, v_id, v_amount,
    v_left - v_amount, v_entry, b.key::text;
END $$
"""

_DROP = ("DROP FUNCTION IF EXISTS kechuang_voucher_redeem(text, text, integer, text, integer, "
         "integer, text, numeric, date, integer, text, timestamptz, text)")


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_REDEEM)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_DROP)
