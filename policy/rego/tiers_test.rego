package sovereign.tiers_test

import data.sovereign.tiers

test_tier_thresholds if {
	tiers.tier_of(-5) == "Untrusted"
	tiers.tier_of(0) == "Untrusted"
	tiers.tier_of(99) == "Untrusted"
	tiers.tier_of(99.9) == "Untrusted"
	tiers.tier_of(100) == "New"
	tiers.tier_of(399) == "New"
	tiers.tier_of(400) == "Trusted"
	tiers.tier_of(699) == "Trusted"
	tiers.tier_of(700) == "Verified"
	tiers.tier_of(899) == "Verified"
	tiers.tier_of(900) == "Elite"
	tiers.tier_of(1000) == "Elite"
	not tiers.tier_of("900")
}

test_tiers_are_ordered if {
	tiers.at_least("Elite", "Verified")
	tiers.at_least("New", "New")
	not tiers.at_least("New", "Trusted")
	not tiers.at_least("Untrusted", "New")
	not tiers.at_least("Godlike", "New")
	not tiers.at_least("Elite", "Godlike")
}

test_subject_tier_prefers_reputation if {
	tiers.subject_tier == "Trusted" with input as {"subject": {"reputation": 450, "tier": "Elite"}}
	tiers.subject_tier == "Elite" with input as {"subject": {"tier": "Elite"}}
	tiers.subject_tier == "New" with input as {"subject": {"tier": "godlike"}}
	tiers.subject_tier == "New" with input as {"subject": {}}
	tiers.subject_tier == "New" with input as {}
	tiers.subject_tier == "New" with input as {"subject": {"reputation": "950"}}
	tiers.subject_tier == "Verified" with input as {"subject": {"reputation": 800}}
}

test_avt_units_is_exact if {
	tiers.avt_units("1") == 1000000000000000000
	tiers.avt_units("0.000000000000000001") == 1
	tiers.avt_units("12.5") == 12500000000000000000
	tiers.avt_units("0.05") == 50000000000000000
	tiers.avt_units("1000000") == 1000000000000000000000000
	tiers.avt_units("999.9") + tiers.avt_units("0.1") == tiers.avt_units("1000")
	tiers.avt_units("0.1") + tiers.avt_units("0.2") == tiers.avt_units("0.3")
}

test_avt_units_rejects_what_is_not_a_plain_decimal if {
	every s in ["", "-1", "+1", "1e3", "1.", ".1", " 1", "1 ", "0x10", "1,5", "NaN", "Infinity", "1.0000000000000000001", "12345678901234567"] {
		not tiers.avt_units(s)
	}
	not tiers.avt_units(5)
	not tiers.avt_units(null)
}

test_stake_at_least if {
	tiers.stake_at_least(1000) with input as {"subject": {"stake": "1000"}}
	tiers.stake_at_least(1000) with input as {"subject": {"stake": "1000.000000000000000001"}}
	not tiers.stake_at_least(1000) with input as {"subject": {"stake": "999.999999999999999999"}}
	not tiers.stake_at_least(1000) with input as {"subject": {}}
	not tiers.stake_at_least(1000) with input as {"subject": {"stake": 5000}}
}
