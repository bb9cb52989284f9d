//! Test harness for real peers (Kamailio, baresip, sipp, PulseAudio).
