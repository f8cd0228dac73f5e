#include <calling/identifiers.h>

#include <array>

namespace calling {
namespace {

constexpr std::string_view kPhonePrefix = "4:";
constexpr std::string_view kApplicationPrefix = "28:";
constexpr std::array<std::string_view, 4> kUserPrefixes = {"8:acs:", "8:spool:", "8:dod-acs:", "8:gcch-acs:"};

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};

}  // namespace

CommunicationIdentifier identifierFromRawId(std::string_view rawId)
{
    if (rawId.starts_with(kPhonePrefix)) {
        // As ACS's own SDKs: what follows "4:" is the phone number as written (E.164, "+1425…").
        return PhoneNumberIdentifier{std::string(rawId.substr(kPhonePrefix.size()))};
    }
    if (rawId.starts_with(kApplicationPrefix) && rawId.size() > kApplicationPrefix.size())
        return CallingApplicationIdentifier{std::string(rawId.substr(kApplicationPrefix.size()))};
    for (std::string_view prefix : kUserPrefixes) {
        if (rawId.starts_with(prefix) && rawId.size() > prefix.size())
            return CommunicationUserIdentifier{std::string(rawId)};
    }
    return UnknownIdentifier{std::string(rawId)};
}

std::string rawIdOf(const CommunicationIdentifier& identifier)
{
    return std::visit(
        Overloaded{
            [](const CommunicationUserIdentifier& user) { return user.communicationUserId; },
            [](const PhoneNumberIdentifier& phone) { return std::string(kPhonePrefix) + phone.phoneNumber; },
            [](const CallingApplicationIdentifier& application) {
                return std::string(kApplicationPrefix) + application.callingApplicationId;
            },
            [](const UnknownIdentifier& unknown) { return unknown.id; },
        },
        identifier);
}

}  // namespace calling
